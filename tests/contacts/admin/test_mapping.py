"""The import's mapping step in the admin: a messy client file to a confirmable preview, then its profile."""

import json

import pytest
from django.urls import reverse

from contacts.admin.mapping import MANDATORY_UNMAPPED, MAPPED_TWICE
from contacts.importing import interpretation
from contacts.importing.mapping import Mapping
from contacts.importing.profiles import save_profile
from contacts.models import Contact, ImportProfile, ImportUpload
from tests.factories import CustomerFactory, OrganizationFactory
from tests.helpers import (
    CONFIRM,
    HEADERS,
    MANDATORY_HEADERS,
    MAPPING,
    PREVIEW,
    contact_row,
    csv_bytes,
    messy_workbook,
    staff_client,
    uploaded,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return OrganizationFactory(name="Acme")


@pytest.fixture
def bakery(acme):
    return CustomerFactory(organization=acme, name="Boulangerie Martin", external_id="AC-1001")


def messy_file(customer, month: int = 1) -> bytes:
    """The accountant's workbook, with an occupation the import does not know."""
    return messy_workbook(
        [
            contact_row(
                customer, f"CT-{month}-1", f"lea{month}@b.example", occupation="Direction financière"
            ),
            contact_row(
                customer, f"CT-{month}-2", f"paul{month}@b.example", occupation="Ventes", is_main="VRAI"
            ),
        ]
    )


def form_data(page, **changes) -> dict:
    """What posting the mapping page as shown sends, with `changes` (field name -> value)."""
    form = page.context["form"]
    data = {name: "" if field.initial is None else field.initial for name, field in form.fields.items()}
    data.update({field.name: field.value() for field in page.context["key_form"].hidden_fields()})
    data.update(changes)
    return data


def column_field(page, header: str) -> str:
    return next(field.name for field, _values in page.context["form"].columns if field.label == header)


def value_field(page, value: str) -> str:
    return next(field.name for *_rest, text, _count, field in page.context["form"].values if text == value)


def test_a_messy_file_goes_through_the_mapping_step_to_a_confirmable_preview_and_a_profile(
    importer, acme, bakery
):
    key = uploaded(importer, acme, messy_file(bakery), "contacts.xlsx")

    preview = importer.get(PREVIEW, key)
    page = importer.get(preview["Location"])

    assert preview["Location"].startswith(MAPPING)
    assert page.context["reasons"] == [
        interpretation.UNKNOWN_VALUES.format(column="Fonction", values='"Direction financière"')
    ]
    columns = {field.label: (field.initial, values) for field, values in page.context["form"].columns}
    assert columns["Mail"] == ("email", ["lea1@b.example", "paul1@b.example"])
    assert columns["Société"] == ("customer_name", ["Boulangerie Martin", "Boulangerie Martin"])
    assert page.context["form"].fields["header_row"].initial == "3"

    applied = importer.post(
        MAPPING, form_data(page, **{value_field(page, "Direction financière"): "ACCOUNTING"})
    )
    preview = importer.get(applied["Location"])

    assert applied["Location"].startswith(PREVIEW)
    report = preview.context["report"]
    assert (report.errors, report.totals["new"]) == ([], 2)
    assert preview.context["reading_summary"].startswith(
        "Read with the mapping chosen (header on row 3 of sheet"
    )
    assert 'id="confirm-import"' in preview.content.decode()
    assert 'id="saves-profile"' in preview.content.decode()

    confirmed = importer.post(CONFIRM, key)

    assert confirmed.status_code == 302
    assert dict(Contact.objects.values_list("external_id", "occupation")) == {
        "CT-1-1": "ACCOUNTING",
        "CT-1-2": "SALES",
    }
    profile = ImportProfile.objects.get(organization=acme)
    assert (profile.sheet, profile.header_row, profile.values) == (
        "Contacts",
        3,
        {"occupation": {"Direction financière": "ACCOUNTING"}},
    )
    assert not ImportUpload.objects.filter(token=key["file"]).exists()  # with its mapping

    next_month = importer.get(PREVIEW, uploaded(importer, acme, messy_file(bakery, month=2), "avril.xlsx"))

    assert next_month.status_code == 200
    assert next_month.context["reading_summary"].startswith(
        "Read with Acme's saved profile (header on row 3 of"
    )
    assert next_month.context["report"].totals["new"] == 2
    assert 'id="saves-profile"' not in next_month.content.decode()


def test_a_mapping_leaving_a_mandatory_field_unmapped_says_which(importer, acme, bakery):
    key = uploaded(importer, acme, messy_file(bakery), "contacts.xlsx")
    page = importer.get(MAPPING, key)

    refused = importer.post(MAPPING, form_data(page, **{column_field(page, "Mail"): ""}))

    assert refused.status_code == 200
    assert refused.context["form"].non_field_errors() == [
        MANDATORY_UNMAPPED.format(columns='"Contact\'s Email"')
    ]
    assert ImportUpload.objects.get(token=key["file"]).mapping is None


def test_a_field_chosen_for_two_columns_is_refused(importer, acme, bakery):
    key = uploaded(importer, acme, messy_file(bakery), "contacts.xlsx")
    page = importer.get(MAPPING, key)

    refused = importer.post(MAPPING, form_data(page, **{column_field(page, "Nom"): "email"}))

    assert refused.context["form"].non_field_errors() == [
        MAPPED_TWICE.format(column="Contact's Email", columns="D and F", headers='"Mail", "Nom"')
    ]


def test_choosing_another_header_row_reads_the_columns_of_that_row(importer, acme, bakery):
    rows = [["Nom", "Code", "Identifiant", "Adresse"], ["Client", "Code client", "Réf", "Courriel"]]
    data = csv_bytes([*rows, ["Acme", "AC-1001", "K1", "a@b.example"]], headers=None)
    key = uploaded(importer, acme, data)
    page = importer.get(MAPPING, key)
    assert page.context["form"].fields["header_row"].initial == "2"  # it names more columns

    moved = importer.post(MAPPING, form_data(page, header_row="1"))
    page = importer.get(moved["Location"])

    assert [field.label for field, _values in page.context["form"].columns] == rows[0]
    assert page.context["form"].fields["header_row"].initial == "1"
    assert page.context["form"].columns[0][1] == ["Client", "Acme"]


def test_a_file_that_breaks_the_profile_goes_to_the_mapping_step_pre_filled_from_the_file(
    importer, acme, bakery
):
    save_profile(
        organization=acme, mapping=Mapping(sheet="Contacts", header_row=3, columns={"Adresse": "email"})
    )
    key = uploaded(importer, acme, messy_file(bakery), "contacts.xlsx")

    preview = importer.get(PREVIEW, key)
    page = importer.get(preview["Location"])

    assert page.context["reasons"][0] == interpretation.PROFILE_NO_LONGER_FITS.format(
        organization="Acme", reason=interpretation.PROFILE_COLUMNS_ABSENT.format(columns='"Adresse"')
    )
    assert page.context["form"].fields[column_field(page, "Mail")].initial == "email"


def test_a_standard_file_previews_directly_and_offers_to_change_the_reading(importer, acme, bakery):
    key = uploaded(importer, acme, csv_bytes([contact_row(bakery, "C-1", "a@b.example")]))

    preview = importer.get(PREVIEW, key)

    assert preview.status_code == 200
    assert preview.context["reading_summary"] == ""
    assert 'id="change-mapping"' in preview.content.decode()
    assert importer.get(MAPPING, key).status_code == 200


def test_the_mapping_step_needs_the_import_permission_and_a_key_of_ones_own(importer, acme, bakery):
    key = uploaded(
        importer,
        acme,
        csv_bytes([contact_row(bakery, "C-1", "a@b.example")], MANDATORY_HEADERS[:4] + HEADERS[4:]),
    )
    viewer = staff_client("view_contact")
    other = staff_client("import_contacts", "view_contact")

    assert viewer.get(MAPPING, key).status_code == 403
    assert other.get(MAPPING, key)["Location"] == reverse("admin:contacts_contact_import")


# The saved profile on the organization's page


def profile_form(organization, profile, **changes) -> dict:
    data = {
        "name": organization.name,
        "slug": organization.slug,
        "default_phone_region": organization.default_phone_region,
        "import_profile-TOTAL_FORMS": "1",
        "import_profile-INITIAL_FORMS": "1",
        "import_profile-MIN_NUM_FORMS": "0",
        "import_profile-MAX_NUM_FORMS": "1",
        "import_profile-0-id": str(profile.pk),
        "import_profile-0-organization": str(organization.pk),
        "import_profile-0-sheet": profile.sheet,
        "import_profile-0-header_row": str(profile.header_row or ""),
        "import_profile-0-columns": json.dumps(profile.columns),
        "import_profile-0-values": json.dumps(profile.values),
    }
    return {**data, **{f"import_profile-0-{name}": value for name, value in changes.items()}}


def test_the_organization_page_shows_its_profile_and_edits_it(superuser_client, acme):
    profile = save_profile(
        organization=acme, mapping=Mapping(sheet="Contacts", header_row=3, columns={"Mail": "email"})
    )
    page = reverse("admin:customers_organization_change", args=[acme.pk])

    shown = superuser_client.get(page)
    edited = superuser_client.post(
        page, profile_form(acme, profile, columns='{"Courriel": "Contact\'s Email"}')
    )

    assert "header on row 3 of sheet Contacts; &#x27;Mail&#x27; → email" in shown.content.decode()
    assert edited.status_code == 302
    profile.refresh_from_db()
    assert profile.columns == {"Courriel": "email"}


def test_a_profile_edited_into_nonsense_is_refused_with_the_mappings_message(superuser_client, acme):
    profile = save_profile(organization=acme, mapping=Mapping(columns={"Mail": "email"}))
    page = reverse("admin:customers_organization_change", args=[acme.pk])

    refused = superuser_client.post(page, profile_form(acme, profile, columns='{"Mail": "Fax"}'))

    assert refused.status_code == 200
    assert "which is not a column of the import" in refused.content.decode()
    profile.refresh_from_db()
    assert profile.columns == {"Mail": "email"}


def test_a_page_read_with_the_profile_is_posted_back_against_the_same_reading(importer, acme, bakery):
    save_profile(
        organization=acme,
        mapping=Mapping(
            sheet="Contacts",
            header_row=3,
            columns={"Coordonnées": "email"},
            values={"occupation": {"Direction financière": "ACCOUNTING"}},
        ),
    )
    headers = ["Société", "Code client", "Référence contact", "Coordonnées", "Fonction"]
    rows = [
        [bakery.name, bakery.external_id, "K1", "a@b.example", "DAF"],
        [bakery.name, bakery.external_id, "K2", "b@b.example", "Direction financière"],
    ]
    key = uploaded(importer, acme, messy_workbook(rows, headers=headers), "c.xlsx")
    page = importer.get(importer.get(PREVIEW, key)["Location"])
    assert [(value, field.initial) for *_rest, value, _count, field in page.context["form"].values] == [
        ("Direction financière", "ACCOUNTING"),
        ("DAF", ""),
    ]

    applied = importer.post(MAPPING, form_data(page, **{value_field(page, "DAF"): "PAYER"}))
    preview = importer.get(applied["Location"])

    assert [o.values["occupation"] for o in preview.context["report"].plan.outcomes] == [
        "PAYER",
        "ACCOUNTING",
    ]


def test_a_sheet_without_a_header_row_is_refused_on_the_page_and_the_reading_kept(importer, acme, bakery):
    key = uploaded(importer, acme, messy_file(bakery), "contacts.xlsx")
    page = importer.get(MAPPING, key)

    moved = importer.post(MAPPING, form_data(page, sheet="Mode d'emploi"))
    page = importer.get(moved["Location"])

    assert page.status_code == 200
    assert page.context["reasons"][0].startswith("No sheet names two columns of the import")
    assert page.context["form"].fields["sheet"].initial == "Contacts"
