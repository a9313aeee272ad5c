"""How rows read (RowPolicy): blank cells keep or clear stored values; exact copies are skipped."""

import pytest

from contacts.services.bulk import contacts_bulk_upsert
from contacts.services.checks import CONTACT_ID_REPEATED
from contacts.services.planning import EXACT_DUPLICATES, plan_rows
from contacts.services.rows import RowInput, RowPolicy
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import actor

pytestmark = pytest.mark.django_db

IMPORT_KEEPS = RowPolicy(blank_clears=False, skip_exact_duplicates=True)
IMPORT_CLEARS = RowPolicy(blank_clears=True, skip_exact_duplicates=True)
BLANK_CELLS = {"first_name": "", "last_name": "", "phone": "", "occupation": "", "is_main": ""}


def file_row(number: int, customer, external_id: str, email: str, **cells) -> RowInput:
    """A row as a file gives it: every column present, blank cells as ""."""
    values = {
        "customer_name": customer.name,
        "customer_external_id": customer.external_id,
        "external_id": external_id,
        "email": email,
        **BLANK_CELLS,
        **cells,
    }
    return RowInput(row=number, values=values, trimmed=True)


@pytest.fixture
def elodie(org):
    customer = CustomerFactory(organization=org)
    return ContactFactory(
        customer=customer,
        external_id="CT-1",
        email="elodie@client.example",
        first_name="Élodie",
        last_name="Martin",
        phone="+33612345678",
        occupation="PAYER",
        is_main=True,
    )


def test_blank_cells_keep_the_stored_values_of_an_existing_contact_by_default(org, elodie):
    rows = [file_row(2, elodie.customer, "CT-1", "elodie.martin@client.example")]

    plan = plan_rows(organization=org, rows=rows, policy=IMPORT_KEEPS)

    (outcome,) = plan.outcomes
    assert outcome.status == "updated"
    assert outcome.previous == {"email": "elodie@client.example"}
    assert outcome.kept == ("first_name", "last_name", "phone", "occupation")
    assert (outcome.values["first_name"], outcome.values["is_main"]) == ("Élodie", True)


def test_blank_cells_clear_the_stored_values_when_the_policy_says_so(org, elodie):
    rows = [file_row(2, elodie.customer, "CT-1", "elodie@client.example")]

    plan = plan_rows(organization=org, rows=rows, policy=IMPORT_CLEARS)

    (outcome,) = plan.outcomes
    assert outcome.previous == {
        "first_name": "Élodie",
        "last_name": "Martin",
        "phone": "+33612345678",
        "occupation": "PAYER",
    }
    assert outcome.kept == ()
    # A blank Main Contact never demotes: 0 does.
    assert outcome.values["is_main"] is True


def test_a_blank_email_keeps_the_stored_one_but_is_required_when_blanks_clear(org, elodie):
    rows = [file_row(2, elodie.customer, "CT-1", "", first_name="Élo")]

    kept = plan_rows(organization=org, rows=rows, policy=IMPORT_KEEPS)
    cleared = plan_rows(organization=org, rows=rows, policy=IMPORT_CLEARS)

    assert (kept.outcomes[0].status, kept.outcomes[0].values["email"]) == ("updated", elodie.email)
    assert [p.field for p in cleared.errors] == ["email"]


def test_blank_cells_of_a_new_contact_are_blank_whatever_the_policy(org):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(
        organization=org, rows=[file_row(2, customer, "CT-9", "new@client.example")], policy=IMPORT_KEEPS
    )

    assert plan.outcomes[0].status == "new"
    assert plan.outcomes[0].kept == ()


def test_the_bulk_service_keeps_the_api_semantics_by_default_a_blank_value_clears(org, elodie):
    row = RowInput(
        row=0,
        values={
            "customer_external_id": elodie.customer.external_id,
            "external_id": "CT-1",
            "email": elodie.email,
            "first_name": None,
            "phone": "",
        },
    )

    contacts_bulk_upsert(organization=org, rows=[row], actor=actor("api"), row_label="item")

    elodie.refresh_from_db()
    assert (elodie.first_name, elodie.phone, elodie.last_name) == ("", "", "Martin")


def test_the_bulk_service_writes_only_what_the_keeping_policy_leaves_changed(org, elodie):
    rows = [file_row(2, elodie.customer, "CT-1", elodie.email, last_name="Martin-Dubois")]

    contacts_bulk_upsert(organization=org, rows=rows, actor=actor("import"), policy=IMPORT_KEEPS)

    elodie.refresh_from_db()
    assert (elodie.first_name, elodie.last_name, elodie.phone) == ("Élodie", "Martin-Dubois", "+33612345678")


def test_exact_copies_are_left_out_of_the_totals_with_one_warning_listing_them(org):
    customer = CustomerFactory(organization=org)
    first = file_row(2, customer, "CT-1", "a@client.example", first_name="Ann")
    other = file_row(3, customer, "CT-2", "b@client.example")
    rows = [
        first,
        other,
        file_row(5, customer, "CT-1", "a@client.example", first_name="Ann"),
        file_row(6, customer, "CT-2", "b@client.example"),
        file_row(9, customer, "CT-1", "a@client.example", first_name="Ann"),
    ]

    plan = plan_rows(organization=org, rows=rows, policy=IMPORT_KEEPS)

    assert [o.row for o in plan.outcomes] == [2, 3]
    assert plan.totals == {"rows": 2, "new": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    message = EXACT_DUPLICATES % {"count": 3, "rows": "rows 5, 6 and 9"}
    assert [(w.row, w.field, w.message) for w in plan.warnings] == [(None, None, message)]


def test_one_exact_copy_is_named_in_the_singular(org):
    customer = CustomerFactory(organization=org)
    rows = [
        file_row(2, customer, "CT-1", "a@client.example"),
        file_row(3, customer, "CT-1", "a@client.example"),
    ]

    plan = plan_rows(organization=org, rows=rows, policy=IMPORT_KEEPS)

    assert [w.message for w in plan.warnings] == [EXACT_DUPLICATES % {"count": 1, "rows": "row 3"}]
    assert plan.warnings[0].message.startswith("An exact copy of an earlier row")


def test_rows_repeating_a_code_with_other_values_stay_errors_beside_exact_copies(org):
    customer = CustomerFactory(organization=org)
    rows = [
        file_row(2, customer, "CT-1", "a@client.example"),
        file_row(3, customer, "CT-1", "a@client.example"),
        file_row(4, customer, "CT-1", "a@client.example", first_name="Ann"),
    ]

    plan = plan_rows(organization=org, rows=rows, policy=IMPORT_KEEPS)

    message = CONTACT_ID_REPEATED.format(value="CT-1", rows="rows 2 and 4")
    assert [(p.row, p.message) for p in plan.errors if p.field == "external_id"] == [
        (2, message),
        (4, message),
    ]
    assert plan.totals["rows"] == 2


def test_the_api_policy_keeps_exact_copies_as_errors(org):
    customer = CustomerFactory(organization=org)
    rows = [
        file_row(0, customer, "CT-1", "a@client.example"),
        file_row(1, customer, "CT-1", "a@client.example"),
    ]

    plan = plan_rows(organization=org, rows=rows, row_label="item")

    assert plan.totals["invalid"] == 2
    assert plan.warnings == []
