"""The admin index's month at a glance, as support reads it on a laptop, and the lists it leads to."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from contacts.importing.pipeline import commit_import
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import contact_row, csv_bytes, log_in, support_agent

pytestmark = pytest.mark.django_db(transaction=True)


def test_support_sees_the_month_at_a_glance_and_follows_a_count_to_the_customers_to_chase(
    page, live_server, settings, screenshots_dir
):
    settings.CONTACT_IMPORTS_PER_MONTH = 2
    acme = OrganizationFactory(name="Acme Industries", slug="acme")
    bakery = CustomerFactory(organization=acme, name="Boulangerie Martin", external_id="AC-1001")
    CustomerFactory(organization=acme, name="Cave Mercier", external_id="AC-1002")
    garage = CustomerFactory(organization=acme, name="Garage du Centre", external_id="AC-1003")
    ContactFactory(customer=garage, is_main=False)
    OrganizationFactory(name="Bakery Supplies Ltd", slug="bakery-supplies")
    OrganizationFactory(name="Globex Distribution", synced=True)
    agent = support_agent("support")
    commit_import(
        organization=acme,
        data=csv_bytes([contact_row(bakery, "AC-C1001-1", "camille@boulangerie.example", is_main="1")]),
        filename="acme.csv",
        user=agent,
    )

    log_in(page, live_server, "support")

    panel = page.locator("#month-at-a-glance")
    expect(panel).to_be_in_viewport()
    expect(panel.locator("tbody th")).to_have_text(["Acme Industries", "Bakery Supplies Ltd"])
    acme_row = panel.locator("tr.organization-acme")
    expect(acme_row.locator(".imports-used")).to_have_text("1 / 2")
    expect(acme_row.locator(".last-import")).to_contain_text("by support")
    expect(acme_row.locator(".without-contacts")).to_have_text("1")
    expect(acme_row.locator(".without-main-contact")).to_have_text("1")
    expect(panel.locator("tr.organization-bakery-supplies .last-import")).to_contain_text("None yet")
    page.screenshot(path=screenshots_dir / "month-at-a-glance.png")

    acme_row.locator(".without-main-contact a").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody .field-name")).to_have_text("Garage du Centre")

    page.goto(live_server.url + reverse("admin:index"))
    acme_row.locator(".without-contacts a").click()
    expect(page.locator("#result_list tbody .field-name")).to_have_text(["Cave Mercier"])

    page.goto(live_server.url + reverse("admin:index"))
    acme_row.locator(".last-import a").click()
    expect(page.locator(".field-stored_file")).to_contain_text("acme.csv")
