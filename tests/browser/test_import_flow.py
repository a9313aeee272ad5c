"""The spreadsheet import end to end, as support staff use it: upload, preview, confirm, history, report."""

import csv
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from contacts.admin.import_preview import BLANKS_CLEAR, BLANKS_KEEP
from contacts.admin.imports import imported_summary
from contacts.importing.reports import ERROR_COLUMN
from contacts.models import Contact, ImportBatch
from contacts.normalization import INVALID_EMAIL
from contacts.services.checks import CUSTOMER_UNKNOWN
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import HEADERS, contact_row, csv_bytes, support_agent

pytestmark = pytest.mark.django_db(transaction=True)

FILE_NAME = "acme-contacts.csv"
CUSTOMER_CODE_COLUMN = "External identification code"
EMAIL_COLUMN = "Contact's Email"


def test_support_agent_previews_skips_invalid_rows_commits_and_downloads_the_error_report(
    page, live_server, tmp_path, screenshots_dir
):
    organization = OrganizationFactory(name="Acme Industries", slug="acme")
    bakery = CustomerFactory(organization=organization, name="Boulangerie Martin", external_id="AC-1001")
    garage = CustomerFactory(organization=organization, name="Garage du Centre", external_id="AC-1002")
    existing = ContactFactory(
        customer=bakery,
        external_id="AC-C1001-1",
        email="camille.martin@boulangerie.example",
        first_name="Camille",
        last_name="Martin",
        is_main=True,
    )
    OrganizationFactory(name="Globex Distribution", slug="globex", synced=True)
    support_agent("support")
    unknown_customer_row = contact_row(
        CustomerFactory.build(name="Cave Mercier", external_id="AC-9999"),
        "AC-C9999-1",
        "paul.roux@cave.example",
        first_name="Paul",
    )
    bad_email_row = contact_row(garage, "AC-C1002-3", "julie@garage", first_name="Julie")
    rows = [
        # Row 1 is the header: data rows are numbered from 2, as in the spreadsheet.
        contact_row(
            bakery, "AC-C1001-2", "lea.bernard@boulangerie.example", first_name="Léa", last_name="Bernard"
        ),
        contact_row(
            bakery,
            "AC-C1001-1",
            "camille.martin@boulangerie.example",
            first_name="Camille",
            last_name="Martin-Dubois",
            phone="06 12 34 56 78",
            occupation="ACCOUNTING",
            is_main="1",
        ),
        unknown_customer_row,
        contact_row(garage, "AC-C1002-1", "hugo.thomas@garage.example", first_name="Hugo", is_main="1"),
        bad_email_row,
        contact_row(garage, "AC-C1002-2", "ines.petit@garage.example", first_name="Inès", occupation="SALES"),
    ]
    upload = tmp_path / FILE_NAME
    upload.write_bytes(csv_bytes(rows))

    # Log in through the form, then go to the contacts the way an agent does.
    page.goto(live_server.url + "/admin/")
    page.fill("#id_username", "support")
    page.fill("#id_password", "pass-for-tests")
    page.click("input[type=submit]")
    page.click("tr.model-contact th a")
    page.click("a.import-contacts-link")
    expect(page.locator("h1")).to_have_text("Import contacts")
    # Only disconnected organizations can be chosen.
    expect(page.locator("#id_organization option")).to_have_text(["---------", "Acme Industries"])
    page.select_option("#id_organization", label="Acme Industries")
    page.set_input_files("#id_file", upload)
    page.click("#import-form input[type=submit]")

    # The dry run.
    expect(page.locator("h1")).to_have_text(f"Preview of {FILE_NAME}")
    expect(page.locator("#total-rows")).to_have_text("6")
    expect(page.locator("#total-new")).to_have_text("3")
    expect(page.locator("#total-updated")).to_have_text("1")
    expect(page.locator("#total-unchanged")).to_have_text("0")
    expect(page.locator("#total-invalid")).to_have_text("2")
    expect(page.locator("#errors")).to_have_text("Errors (2)")
    error_rows = page.locator("#errors-table tbody tr")
    expect(error_rows).to_have_count(2)
    expect(error_rows.nth(0).locator("td")).to_have_text(
        [
            "4",
            CUSTOMER_CODE_COLUMN,
            CUSTOMER_UNKNOWN.format(organization="Acme Industries", value="AC-9999"),
        ]
    )
    expect(error_rows.nth(1).locator("td")).to_have_text(
        ["6", EMAIL_COLUMN, INVALID_EMAIL.format(value="julie@garage")]
    )
    new_rows = page.locator("#new-table tbody tr")
    expect(new_rows.locator("td:first-child")).to_have_text(["2", "5", "7"])
    expect(new_rows.nth(0)).to_contain_text("Boulangerie Martin (AC-1001)")
    expect(new_rows.nth(0)).to_contain_text("lea.bernard@boulangerie.example")
    expect(new_rows.nth(1)).to_contain_text("hugo.thomas@garage.example")
    expect(new_rows.nth(2)).to_contain_text("Garage du Centre (AC-1002)")
    updated_rows = page.locator("#updated-table tbody tr")
    expect(updated_rows).to_have_count(1)
    expect(updated_rows.locator("td").nth(0)).to_have_text("3")
    expect(updated_rows.locator("td").nth(2)).to_have_text("AC-C1001-1")
    changes = updated_rows.locator(".import-changes li")
    expect(changes).to_have_text(
        [
            "Contact's Last Name: Martin → Martin-Dubois",
            "Contact's Telephone Number: (blank) → +33612345678",
            "Occupation: (blank) → ACCOUNTING",
        ]
    )
    # Nothing is written by the preview.
    assert Contact.objects.filter(organization=organization).count() == 1

    confirm = page.locator("#confirm-import")
    expect(confirm).to_be_disabled()
    expect(page.locator("#confirm-blocked")).to_contain_text("2 problems remain")
    page.check("#id_skip_invalid")
    expect(confirm).to_be_enabled()
    expect(page.locator("#confirm-blocked")).to_be_hidden()
    page.screenshot(path=screenshots_dir / "import-preview.png", full_page=True)

    confirm.click()
    # The agent lands on the import's page, the error report to send back to the client at its top.
    batch = ImportBatch.objects.get(organization=organization)
    expect(page).to_have_url(re.compile(rf"/admin/contacts/importbatch/{batch.pk}/change/$"))
    summary = imported_summary(FILE_NAME, {"new": 3, "updated": 1, "unchanged": 0, "invalid": 2})
    expect(page.locator(".messagelist .success")).to_have_text(summary)
    error_report = page.locator("#import-error-report")
    expect(error_report).to_be_in_viewport()
    expect(error_report).to_contain_text("the 2 invalid rows with an Error column")
    page.screenshot(path=screenshots_dir / "import-committed.png")

    stored = {
        contact.external_id: (
            contact.customer_id,
            contact.email,
            contact.last_name,
            contact.phone,
            contact.is_main,
        )
        for contact in Contact.objects.filter(organization=organization)
    }
    assert stored == {
        "AC-C1001-1": (bakery.pk, existing.email, "Martin-Dubois", "+33612345678", True),
        "AC-C1001-2": (bakery.pk, "lea.bernard@boulangerie.example", "Bernard", "", False),
        "AC-C1002-1": (garage.pk, "hugo.thomas@garage.example", "", "", True),
        "AC-C1002-2": (garage.pk, "ines.petit@garage.example", "", "", False),
    }
    assert not Contact.objects.filter(external_id__in=["AC-C9999-1", "AC-C1002-3"]).exists()
    assert not Contact.objects.filter(email__in=["paul.roux@cave.example", "julie@garage"]).exists()

    # The batch's page keeps the errors and hands out the report of the rows left out.
    expect(page.locator(".field-error_list li")).to_have_text(
        [
            f'Row 4, "{CUSTOMER_CODE_COLUMN}": '
            + CUSTOMER_UNKNOWN.format(organization="Acme Industries", value="AC-9999"),
            f'Row 6, "{EMAIL_COLUMN}": ' + INVALID_EMAIL.format(value="julie@garage"),
        ]
    )
    with page.expect_download() as download_info:
        error_report.locator("a:has-text('CSV')").click()
    download = download_info.value
    assert download.suggested_filename == "acme-contacts-errors.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as report:
        lines = list(csv.reader(report))
    assert lines == [
        [*HEADERS, ERROR_COLUMN],
        [
            *unknown_customer_row,
            f'Row 4, "{CUSTOMER_CODE_COLUMN}": '
            + CUSTOMER_UNKNOWN.format(organization="Acme Industries", value="AC-9999"),
        ],
        [*bad_email_row, f'Row 6, "{EMAIL_COLUMN}": ' + INVALID_EMAIL.format(value="julie@garage")],
    ]

    # The import history, reached from the contact list's tools, with the admin's sidebar open.
    page.goto(live_server.url + reverse("admin:contacts_contact_changelist"))
    page.click(".object-tools a:has-text('Import history')")
    history_rows = page.locator("#result_list tbody tr")
    expect(history_rows).to_have_count(1)
    batch_row = history_rows.first
    expected_cells = {
        "organization": "Acme Industries",
        "user": "support",
        "stored_file": FILE_NAME,
        "status_and_override": "Committed",
        "rows": "6",
        "new": "3",
        "updated": "1",
        "invalid_rows": "2",
        "error_report": "CSV XLSX",
    }
    for name, text in expected_cells.items():
        expect(batch_row.locator(f".field-{name}")).to_have_text(text)
    expect(page.locator("#nav-sidebar")).to_be_visible()
    expect(batch_row.locator(".field-error_report")).to_be_in_viewport()
    page.screenshot(path=screenshots_dir / "import-history.png", full_page=True)
    batch_row.locator(".field-when a").click()


def log_in_as_support(page, live_server) -> None:
    page.goto(live_server.url + "/admin/")
    page.fill("#id_username", "support")
    page.fill("#id_password", "pass-for-tests")
    page.click("input[type=submit]")


def upload_file(page, live_server, path, *, blank_clears: bool = False) -> None:
    page.goto(live_server.url + "/admin/contacts/contact/import/")
    page.select_option("#id_organization", label="Acme Industries")
    page.set_input_files("#id_file", path)
    if blank_clears:
        page.check("#id_blank_clears")
    page.click("#import-form input[type=submit]")
    expect(page.locator("h1")).to_have_text(f"Preview of {path.name}")


def test_blank_cells_keep_stored_values_unless_chosen_and_a_file_imported_twice_is_warned_about(
    page, live_server, tmp_path
):
    organization = OrganizationFactory(name="Acme Industries", slug="acme")
    bakery = CustomerFactory(organization=organization, name="Boulangerie Martin", external_id="AC-1001")
    elodie = ContactFactory(
        customer=bakery,
        external_id="AC-C1001-1",
        email="elodie@boulangerie.example",
        first_name="Élodie",
        last_name="Martin",
        phone="+33612345678",
    )
    support_agent("support")
    # Only the codes and a new email: every other cell blank.
    path = tmp_path / "new-emails.csv"
    path.write_bytes(
        csv_bytes([contact_row(bakery, elodie.external_id, "elodie.martin@boulangerie.example")])
    )
    log_in_as_support(page, live_server)

    # By default the blank cells keep what is stored, and the preview says so.
    upload_file(page, live_server, path)
    expect(page.locator("#blank-policy")).to_have_text(BLANKS_KEEP % {"count": 1})
    updated = page.locator("#updated-table tbody tr")
    expect(updated.locator(".import-changes li:not(.kept)")).to_have_text(
        ["Contact's Email: elodie@boulangerie.example → elodie.martin@boulangerie.example"]
    )
    expect(updated.locator(".import-changes li.kept")).to_have_text(
        [
            "Contact's First Name: Élodie kept (blank cell)",
            "Contact's Last Name: Martin kept (blank cell)",
            "Contact's Telephone Number: +33612345678 kept (blank cell)",
        ]
    )
    expect(page.locator("#reimport-warning")).to_have_count(0)

    # Chosen on the upload page, blank cells clear the stored values.
    upload_file(page, live_server, path, blank_clears=True)
    expect(page.locator("#blank-policy")).to_have_text(str(BLANKS_CLEAR))
    expect(page.locator("#updated-table .import-changes li")).to_have_text(
        [
            "Contact's Email: elodie@boulangerie.example → elodie.martin@boulangerie.example",
            "Contact's First Name: Élodie → (blank)",
            "Contact's Last Name: Martin → (blank)",
            "Contact's Telephone Number: +33612345678 → (blank)",
        ]
    )
    page.click("#confirm-import")
    expect(page.locator(".messagelist .success")).to_contain_text("1 updated")
    elodie.refresh_from_db()
    assert (elodie.email, elodie.first_name, elodie.phone) == ("elodie.martin@boulangerie.example", "", "")
    batch = ImportBatch.objects.get(organization=organization)
    assert batch.blank_cells_clear is True

    # The same file again: warned at the top of the preview, with a link to the first import.
    upload_file(page, live_server, path)
    warning = page.locator("#reimport-warning")
    expect(warning).to_contain_text("This file was already imported for Acme Industries on ")
    expect(warning).to_contain_text(" by support;")
    assert page.locator("#reimport-warning").bounding_box()["y"] < page.locator("#totals").bounding_box()["y"]
    page.click("#earlier-import-link")
    expect(page).to_have_url(re.compile(rf"/admin/contacts/importbatch/{batch.pk}/change/$"))
