"""The mapping step with columns the import cannot place alone: two columns with one header, and unknown
columns beside a missing mandatory one."""

import pytest

from contacts.admin.mapping import MAPPED_TWICE
from contacts.importing import interpretation
from contacts.models import Contact, ImportProfile
from tests.factories import CustomerFactory, OrganizationFactory
from tests.helpers import CONFIRM, MANDATORY_HEADERS, MAPPING, PREVIEW, csv_bytes, uploaded

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return OrganizationFactory(name="Acme")


@pytest.fixture
def bakery(acme):
    return CustomerFactory(organization=acme, name="Boulangerie Martin", external_id="AC-1001")


def form_data(page, **changes) -> dict:
    form = page.context["form"]
    data = {name: "" if field.initial is None else field.initial for name, field in form.fields.items()}
    data.update({field.name: field.value() for field in page.context["key_form"].hidden_fields()})
    data.update(changes)
    return data


def twice_the_email(bakery) -> bytes:
    """Columns D and F both headed "Contact's Email"; the client filled F (D is an old address)."""
    headers = [*MANDATORY_HEADERS, "Occupation", "Contact's Email"]
    rows = [["Boulangerie Martin", "AC-1001", "K1", "old@b.example", "", "new@b.example"]]
    return csv_bytes(rows, headers)


def test_two_columns_with_one_header_are_named_by_their_letters_in_the_preview(importer, acme, bakery):
    key = uploaded(importer, acme, twice_the_email(bakery))

    preview = importer.get(PREVIEW, key)

    warnings = [problem.message for problem in preview.context["report"].warnings]
    assert warnings == [
        interpretation.REPEATED_COLUMNS.format(columns="D and F", column="Contact's Email", first="D")
    ]
    assert preview.context["mapping_url"]  # where to choose the other one


def test_the_mapping_step_reads_the_second_of_two_columns_with_one_header_by_its_position(
    importer, acme, bakery
):
    key = uploaded(importer, acme, twice_the_email(bakery))
    page = importer.get(MAPPING, key)

    applied = importer.post(MAPPING, form_data(page, column_3="", column_5="email"))
    preview = importer.get(applied["Location"])
    confirmed = importer.post(CONFIRM, key)

    assert applied["Location"].startswith(PREVIEW)
    assert preview.context["report"].errors == []
    assert confirmed.status_code == 302
    assert Contact.objects.get().email == "new@b.example"
    columns = ImportProfile.objects.get(organization=acme).columns
    assert (columns["column:D"], columns["column:F"]) == (None, "email")


def test_a_field_chosen_for_two_columns_with_one_header_names_their_letters(importer, acme, bakery):
    key = uploaded(importer, acme, twice_the_email(bakery))
    page = importer.get(MAPPING, key)

    refused = importer.post(MAPPING, form_data(page, column_5="email"))

    assert refused.context["form"].non_field_errors() == [
        MAPPED_TWICE.format(
            column="Contact's Email", columns="D and F", headers='"Contact\'s Email", "Contact\'s Email"'
        )
    ]
