"""A client's contacts exported from the admin and imported back unedited: nothing to import."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from contacts.importing.commit import NOTHING_TO_WRITE
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import log_in, support_agent

pytestmark = pytest.mark.django_db(transaction=True)


def test_support_exports_an_organizations_contacts_and_an_unedited_reimport_changes_nothing(
    page, live_server, tmp_path
):
    acme = OrganizationFactory(name="Acme Industries", slug="acme")
    bakery = CustomerFactory(organization=acme, name="Boulangerie Martin", external_id="AC-1001")
    ContactFactory(
        customer=bakery,
        external_id="AC-C1001-1",
        email="camille.martin@boulangerie.example",
        first_name="Camille",
        last_name="Martin",
        phone="+33612345678",
        occupation="ACCOUNTING",
        is_main=True,
    )
    ContactFactory(customer=bakery, external_id="AC-C1001-2", first_name="Léa", phone="+12025550143")
    ContactFactory(customer__organization=acme, external_id="AC-C1002-1", occupation="PAYER")
    ContactFactory(customer__organization=OrganizationFactory(name="Globex Distribution"))
    support_agent("support")
    log_in(page, live_server, "support")

    # From the list of every contact: two organizations, so the export says to pick one.
    page.goto(live_server.url + reverse("admin:contacts_contact_changelist"))
    page.click("a.export-contacts-link")
    expect(page.locator(".messagelist .error")).to_contain_text(
        "These contacts belong to 2 organizations (Acme Industries, Globex Distribution)"
    )

    # From the organization's page: its contacts, French headers, XLSX.
    page.goto(live_server.url + reverse("admin:customers_organization_change", args=[acme.pk]))
    page.click("a.export-contacts-link")
    expect(page.locator("#export-scope")).to_have_text("3 contacts of Acme Industries, in the import layout.")
    page.select_option("#id_resource", label="French headers")
    page.select_option("#id_format", label="XLSX")
    with page.expect_download() as download_info:
        page.click("input[type=submit]")
    download = download_info.value
    assert download.suggested_filename.startswith("acme-contacts-")
    exported = tmp_path / download.suggested_filename
    download.save_as(exported)

    # The client changes nothing and sends it back.
    page.goto(live_server.url + reverse("admin:contacts_contact_import"))
    page.select_option("#id_organization", label="Acme Industries")
    page.set_input_files("#id_file", exported)
    page.click("#import-form input[type=submit]")
    expect(page.locator("#total-rows")).to_have_text("3")
    expect(page.locator("#total-unchanged")).to_have_text("3")
    for total in ("new", "updated", "invalid"):
        expect(page.locator(f"#total-{total}")).to_have_text("0")
    expect(page.locator("#nothing-to-write")).to_have_text(str(NOTHING_TO_WRITE))
    expect(page.locator("#confirm-import")).to_have_count(0)
