"""The contacts export: the import's layout, a round trip that changes nothing, one organization at a time."""

import csv
import io

import openpyxl
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.admin.exporting import several_organizations
from contacts.fields import ENGLISH_HEADERS, FRENCH_HEADERS, SPREADSHEET_FIELDS
from contacts.importing.pipeline import preview_import
from contacts.models import Contact
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import messages_of, staff_client

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contacts_contact_changelist")
EXPORT = reverse("admin:contacts_contact_export")
CSV, XLSX = "0", "1"  # the export form's format choices
ENGLISH, FRENCH = "0", "1"  # its header choices


def exporter():
    return staff_client("view_contact", "import_contacts")


def organization_with_contacts(**organization):
    """An organization whose contacts use every column: phones, occupations, main or not, blanks, accents."""
    org = OrganizationFactory(**organization)
    bakery = CustomerFactory(organization=org, name="Boulangerie Martin", external_id="AC-1001")
    garage = CustomerFactory(organization=org, name="Garage du Centre", external_id="AC-1002")
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
    ContactFactory(
        customer=bakery,
        external_id="AC-C1001-2",
        email="lea.bernard@boulangerie.example",
        first_name="Léa",
        last_name="Bernard-Dubois",
        phone="+12025550143",
        occupation="",
    )
    ContactFactory(
        customer=garage,
        external_id="AC-C1002-1",
        email="hugo@garage.example",
        first_name="",
        last_name="",
        occupation="PAYER",
        is_main=False,
    )
    return org


def export(client, org, *, format: str, headers: str = ENGLISH):
    response = client.post(
        f"{EXPORT}?organization__id__exact={org.pk}", {"format": format, "resource": headers}
    )
    assert response.status_code == 200, response.content[:500]
    return response


def csv_lines(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize(("format", "name"), [(CSV, "export.csv"), (XLSX, "export.xlsx")])
@pytest.mark.parametrize("headers", [ENGLISH, FRENCH])
def test_an_unedited_export_imports_back_with_every_contact_unchanged(format, name, headers):
    org = organization_with_contacts()
    ContactFactory(customer__organization=OrganizationFactory())  # another organization's: not exported

    content = export(exporter(), org, format=format, headers=headers).content
    report = preview_import(organization=org, data=content, filename=name)

    assert report.errors == []
    assert report.warnings == []
    assert report.totals == {"rows": 3, "new": 0, "updated": 0, "unchanged": 3, "invalid": 0}


@pytest.mark.parametrize(("headers", "names"), [(ENGLISH, ENGLISH_HEADERS), (FRENCH, FRENCH_HEADERS)])
def test_the_export_has_the_import_layout_in_english_or_french(headers, names):
    org = organization_with_contacts()

    lines = csv_lines(export(exporter(), org, format=CSV, headers=headers).content)

    assert lines[0] == [names[field] for field in SPREADSHEET_FIELDS]
    assert lines[1] == [
        "Boulangerie Martin",
        "AC-1001",
        "AC-C1001-1",
        "camille.martin@boulangerie.example",
        "Camille",
        "Martin",
        "+33612345678",  # a phone: written as it is, never prefixed
        "ACCOUNTING",
        "1",
    ]


def test_the_xlsx_export_has_the_templates_drop_down_lists():
    org = organization_with_contacts()

    response = export(exporter(), org, format=XLSX, headers=FRENCH)

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [cell.value for cell in sheet[1]] == [FRENCH_HEADERS[field] for field in SPREADSHEET_FIELDS]
    validations = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert validations == {"H2": '"ACCOUNTING,SALES,PURCHASER,PAYER"', "I2": '"1,0"'}
    assert response["Content-Disposition"].startswith(f'attachment; filename="{org.slug}-contacts-')


def test_formula_like_values_are_neutralised_in_csv_and_kept_as_text_in_xlsx():
    org = OrganizationFactory()
    ContactFactory(customer__organization=org, last_name='=HYPERLINK("http://evil.example")')
    client = exporter()

    csv_row = csv_lines(export(client, org, format=CSV).content)[1]
    sheet = openpyxl.load_workbook(io.BytesIO(export(client, org, format=XLSX).content)).active
    xlsx_cell = sheet.cell(row=2, column=SPREADSHEET_FIELDS.index("last_name") + 1)

    assert csv_row[SPREADSHEET_FIELDS.index("last_name")] == '\'=HYPERLINK("http://evil.example")'
    assert (xlsx_cell.value, xlsx_cell.data_type, xlsx_cell.quotePrefix) == (
        '=HYPERLINK("http://evil.example")',
        "s",
        True,
    )


def test_the_export_costs_the_same_queries_for_many_contacts_as_for_one():
    org = OrganizationFactory()
    ContactFactory(customer__organization=org)
    client = exporter()
    with CaptureQueriesContext(connection) as one:
        export(client, org, format=XLSX)
    ContactFactory.create_batch(30, customer__organization=org)

    with CaptureQueriesContext(connection) as many:
        export(client, org, format=XLSX)

    assert len(many) == len(one)


def test_exporting_without_a_filter_across_organizations_is_refused_and_names_them():
    first = OrganizationFactory(name="Acme Industries")
    second = OrganizationFactory(name="Globex Distribution")
    ContactFactory(customer__organization=first)
    ContactFactory(customer__organization=second)
    client = exporter()

    response = client.get(EXPORT)

    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}?"
    assert messages_of(response) == [several_organizations(["Acme Industries", "Globex Distribution"])]
    assert "2 organizations (Acme Industries, Globex Distribution)" in messages_of(response)[0]


def test_a_selection_spanning_several_organizations_is_refused_with_a_message():
    first = ContactFactory(customer__organization=OrganizationFactory(name="Acme Industries"))
    second = ContactFactory(customer__organization=OrganizationFactory(name="Globex Distribution"))
    client = exporter()

    response = client.post(
        CHANGELIST, {"action": "export_admin_action", ACTION_CHECKBOX_NAME: [first.pk, second.pk]}
    )

    assert response.status_code == 302
    assert messages_of(response) == [several_organizations(["Acme Industries", "Globex Distribution"])]


def test_a_forged_export_across_organizations_is_refused_on_the_form():
    first = ContactFactory(customer__organization=OrganizationFactory(name="Acme Industries"))
    second = ContactFactory(customer__organization=OrganizationFactory(name="Globex Distribution"))

    response = exporter().post(
        EXPORT, {"format": CSV, "resource": ENGLISH, "export_items": [first.pk, second.pk]}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert several_organizations(["Acme Industries", "Globex Distribution"]) in messages_of(response)


def test_selected_contacts_of_one_organization_are_exported_alone():
    org = organization_with_contacts()
    chosen = Contact.objects.get(external_id="AC-C1001-2")
    client = exporter()

    form = client.post(CHANGELIST, {"action": "export_admin_action", ACTION_CHECKBOX_NAME: [chosen.pk]})
    response = client.post(EXPORT, {"format": CSV, "resource": ENGLISH, "export_items": [chosen.pk]})

    assert form.status_code == 200
    assert f"1 contact of <strong>{org.name}</strong>" in form.content.decode()
    lines = csv_lines(response.content)
    assert [line[2] for line in lines[1:]] == ["AC-C1001-2"]
    assert org.contacts.count() == 3


def test_a_tampered_selection_is_refused_on_the_form_without_a_file():
    organization_with_contacts()
    chosen = Contact.objects.get(external_id="AC-C1002-1")

    response = exporter().post(
        EXPORT, {"format": CSV, "resource": ENGLISH, "export_items": [chosen.pk, "1 OR 1=1", "abc"]}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "export_items" in response.context["form"].errors


def test_the_export_needs_the_import_permission():
    org = organization_with_contacts()
    viewer = staff_client("view_contact")

    listing = viewer.get(CHANGELIST)
    response = viewer.post(f"{EXPORT}?organization__id__exact={org.pk}", {"format": CSV, "resource": ENGLISH})

    assert EXPORT.encode() not in listing.content
    assert b"export_admin_action" not in listing.content
    assert response.status_code == 403


def test_the_contact_list_and_the_organization_page_link_to_the_export():
    org = organization_with_contacts()
    client = exporter()
    client.user.user_permissions.add(Permission.objects.get(codename="view_organization"))

    listing = client.get(CHANGELIST, {"organization__id__exact": org.pk})
    organization_page = client.get(reverse("admin:customers_organization_change", args=[org.pk]))

    link = f"{EXPORT}?organization__id__exact={org.pk}"
    assert link in listing.content.decode()
    assert link in organization_page.content.decode()


def test_select_all_over_a_thousand_contacts_exports_by_the_filter_not_by_ids():
    org = OrganizationFactory()
    customer = CustomerFactory(organization=org)
    Contact.objects.bulk_create(
        Contact(organization=org, customer=customer, external_id=f"K-{n}", email=f"p{n}@b.example")
        for n in range(1001)
    )
    ContactFactory(customer__organization=OrganizationFactory())  # outside the filter
    client = exporter()
    on_page = list(org.contacts.values_list("pk", flat=True)[:100])
    filtered = f"?organization__id__exact={org.pk}"

    form = client.post(
        CHANGELIST + filtered,
        {"action": "export_admin_action", "select_across": "1", "index": "0", ACTION_CHECKBOX_NAME: on_page},
    )
    response = client.post(form.context["export_url"], {"format": CSV, "resource": ENGLISH})

    assert form.status_code == 200
    assert 'name="export_items"' not in form.content.decode()
    assert form.context["export_url"] == EXPORT + filtered
    assert f"1001 contacts of <strong>{org.name}</strong>" in form.content.decode()
    assert len(csv_lines(response.content)) == 1 + 1001
