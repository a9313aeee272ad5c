"""The mapping step as support staff walk it: a messy client workbook to a confirmed import and a profile."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from playwright.sync_api import expect

from contacts.models import Contact, ImportProfile
from tests.factories import CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import contact_row, messy_workbook

pytestmark = pytest.mark.django_db(transaction=True)

# The accountant renamed every column; "Coordonnées" (the email) is a name nobody could guess.
HEADERS = [
    "Société",
    "Code client",
    "Référence contact",
    "Coordonnées",
    "Prénom",
    "Nom",
    "Tél.",
    "Fonction",
    "Principal",
]


def importer(username: str):
    user = UserFactory(username=username)
    for codename in ("import_contacts", "view_contact"):
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="contacts", codename=codename)
        )
    return user


def test_support_maps_a_renamed_column_and_an_unknown_value_then_confirms(
    page, live_server, tmp_path, screenshots_dir
):
    organization = OrganizationFactory(name="Acme Industries")
    bakery = CustomerFactory(organization=organization, name="Boulangerie Martin", external_id="AC-1001")
    importer("support")
    upload = tmp_path / "Contacts Acme mars.xlsx"
    upload.write_bytes(
        messy_workbook(
            [
                contact_row(
                    bakery,
                    "CT-1",
                    "lea@boulangerie.example",
                    first_name="Léa",
                    occupation="Direction financière",
                    is_main="VRAI",
                ),
                contact_row(
                    bakery, "CT-2", "paul@boulangerie.example", first_name="Paul", occupation="Commercial"
                ),
            ],
            headers=HEADERS,
        )
    )

    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "support")
    page.fill("#id_password", "pass-for-tests")
    page.click("input[type=submit]")
    page.goto(live_server.url + reverse("admin:contacts_contact_import"))
    page.select_option("#id_organization", label="Acme Industries")
    page.set_input_files("#id_file", upload)
    page.click("#import-form input[type=submit]")

    # The preview cannot read the file alone: the mapping step says why and guesses the rest.
    expect(page.locator("h1")).to_have_text("How to read Contacts Acme mars.xlsx")
    reasons = page.locator("#mapping-reasons li")
    expect(reasons.nth(0)).to_contain_text('lacks the mandatory column(s) "Contact\'s Email"')
    expect(reasons.nth(1)).to_contain_text('"Direction financière"')
    expect(page.locator("#id_header_row")).to_have_value("3")
    columns = page.locator("#mapping-columns tbody tr")
    expect(columns).to_have_count(len(HEADERS))
    expect(columns.nth(0).locator("select")).to_have_value("customer_name")
    expect(columns.nth(3).locator(".first-values")).to_have_text(
        "lea@boulangerie.example · paul@boulangerie.example"
    )
    expect(columns.nth(3).locator("select")).to_have_value("")
    page.screenshot(path=screenshots_dir / "import-mapping.png", full_page=True)

    # A confirm without the email column is refused, saying which.
    page.click("#apply-mapping")
    expect(page.locator("#mapping-errors")).to_contain_text('Choose a column for "Contact\'s Email"')

    page.locator("#mapping-columns tbody tr").nth(3).locator("select").select_option(label="Contact's Email")
    page.locator("#mapping-values tbody tr", has_text="Direction financière").locator("select").select_option(
        "ACCOUNTING"
    )
    page.click("#apply-mapping")

    # The dry run, read as chosen.
    expect(page.locator("h1")).to_have_text("Preview of Contacts Acme mars.xlsx")
    expect(page.locator("#reading-summary")).to_contain_text(
        "Read with the mapping chosen (header on row 3 of sheet Contacts;"
    )
    expect(page.locator("#reading-summary")).to_contain_text("'Coordonnées' → email")
    expect(page.locator("#total-new")).to_have_text("2")
    expect(page.locator("#total-invalid")).to_have_text("0")
    expect(page.locator("#new-table tbody tr td:first-child")).to_have_text(["4", "5"])
    expect(page.locator("#saves-profile")).to_be_visible()
    assert Contact.objects.count() == 0

    page.click("#confirm-import")

    expect(page.locator(".messagelist .success")).to_contain_text("2 new")
    assert dict(Contact.objects.values_list("external_id", "occupation")) == {
        "CT-1": "ACCOUNTING",
        "CT-2": "SALES",
    }
    profile = ImportProfile.objects.get(organization=organization)
    assert (profile.header_row, profile.columns["Coordonnées"], profile.values) == (
        3,
        "email",
        {"occupation": {"Direction financière": "ACCOUNTING"}},
    )
