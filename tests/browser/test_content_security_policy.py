"""The strict Content-Security-Policy breaks neither the admin's pages nor Swagger UI (issue 13, point 8).

The `page` fixture fails a test on any complaint Chromium prints about the policy; these tests walk the
pages the other browser tests do not.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import api_key_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_swagger_ui_runs_and_calls_the_api_under_the_policy(page, live_server):
    api_key_for(OrganizationFactory(name="Acme Industries"))

    response = page.goto(live_server.url + reverse("api-docs"))

    assert "script-src 'self'" in response.headers["content-security-policy"]
    # The customer list itself (operations are grouped by tag: a contacts path also holds this text).
    operation = page.locator(".opblock-summary-path[data-path='/api/v1/customers']").first
    expect(operation).to_be_visible()
    operation.click()
    page.click("button.try-out__btn")
    page.click("button.execute")
    # Without a key the API answers 401: the call left the page and its answer came back.
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text("401")


def test_the_admin_pages_work_under_the_policy(page, live_server):
    organization = OrganizationFactory(name="Acme Industries")
    customer = CustomerFactory(organization=organization, name="Boulangerie Martin")
    ContactFactory(customer=customer)
    UserFactory(username="admin", is_superuser=True)

    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pass-for-tests")
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
    page.click("button.theme-toggle")  # the admin's own scripts run
    for name in (
        "admin:contacts_contact_changelist",
        "admin:customers_organization_changelist",
        "admin:customers_organizationapikey_add",
        "admin:axes_accessattempt_changelist",
        "admin:contacts_contact_import",
        "admin:password_change",
    ):
        page.goto(live_server.url + reverse(name))
        expect(page.locator("#content")).to_be_visible()

    page.goto(live_server.url + reverse("admin:customers_customer_change", args=[customer.pk]))
    page.click(".add-row a")  # the inline's "Add another Contact" is the admin's JavaScript
    expect(page.locator(".dynamic-contacts").last).to_be_visible()
    page.goto(live_server.url + reverse("admin:contacts_contact_changelist"))
    page.check("#action-toggle")
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
