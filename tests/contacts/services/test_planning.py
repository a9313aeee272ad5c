import pytest

from contacts.normalization import IDENTIFIER_UNPRINTABLE, INVALID_EMAIL, INVALID_PHONE
from contacts.services import checks, main_contacts, planning
from contacts.services.planning import plan_rows
from contacts.services.rows import RowInput
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import bulk_row as row

pytestmark = pytest.mark.django_db


def only_errors(plan) -> list[tuple[int, str, str]]:
    return [(p.row, p.field, p.message) for p in plan.errors]


def test_new_contact_values_are_cleaned(org):
    customer = CustomerFactory(organization=org)
    plan = plan_rows(
        organization=org,
        rows=[
            row(
                2,
                customer,
                "  C-1 ",
                " Bob@Example.COM ",
                first_name=" Bob ",
                last_name="Smith",
                phone="06 12 34 56 78",
                occupation="accounting",
                is_main="Oui",
            )
        ],
    )

    (outcome,) = plan.outcomes
    assert outcome.status == "new"
    assert outcome.customer_id == customer.pk
    assert outcome.values == {
        "external_id": "C-1",
        "email": "bob@example.com",
        "first_name": "Bob",
        "last_name": "Smith",
        "phone": "+33612345678",
        "occupation": "ACCOUNTING",
        "is_main": True,
    }
    assert plan.errors == []
    assert plan.totals == {"rows": 1, "new": 1, "updated": 0, "unchanged": 0, "invalid": 0}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"customer_external_id": ""}, "customer_external_id", checks.CUSTOMER_ID_REQUIRED),
        ({"customer_name": "  "}, "customer_name", checks.CUSTOMER_NAME_REQUIRED),
        ({"external_id": ""}, "external_id", checks.CONTACT_ID_REQUIRED),
        ({"external_id": "x" * 101}, "external_id", checks.TOO_LONG.format(length=101, limit=100)),
        ({"email": "bob@acme"}, "email", INVALID_EMAIL.format(value="bob@acme")),
        ({"first_name": "y" * 151}, "first_name", checks.TOO_LONG.format(length=151, limit=150)),
        ({"phone": "12"}, "phone", INVALID_PHONE.format(value="12")),
        (
            {"occupation": "Boss"},
            "occupation",
            checks.OCCUPATION_INVALID.format(value="Boss", allowed="ACCOUNTING, SALES, PURCHASER, PAYER"),
        ),
        ({"is_main": "maybe"}, "is_main", checks.MAIN_CONTACT_INVALID.format(value="maybe")),
    ],
)
def test_a_broken_value_makes_the_row_invalid(org, changes, field, message):
    customer = CustomerFactory(organization=org)

    values = {"external_id": "C-1", "email": "a@b.example", **changes}
    plan = plan_rows(organization=org, rows=[row(4, customer, **values)])

    assert only_errors(plan) == [(4, field, message)]
    assert plan.outcomes[0].status == "invalid"
    assert plan.totals["invalid"] == 1


def test_blank_email_is_an_error(org):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1", "")])

    assert [(p.field, p.row) for p in plan.errors] == [("email", 2)]
    assert plan.outcomes[0].status == "invalid"


def test_unknown_customer_is_an_error_even_if_another_organization_has_it(org):
    elsewhere = CustomerFactory(external_id="CUST-X")

    plan = plan_rows(organization=org, rows=[row(3, elsewhere, "C-1", "a@b.example")])

    message = checks.CUSTOMER_UNKNOWN.format(organization=org.name, value="CUST-X")
    assert only_errors(plan) == [(3, "customer_external_id", message)]


def test_customer_name_differing_only_by_case_accents_and_spaces_is_accepted_silently(org):
    customer = CustomerFactory(organization=org, name="Société Générale")

    plan = plan_rows(
        organization=org, rows=[row(2, customer, "C-1", "a@b.example", customer_name="  societe   GENERALE")]
    )

    assert plan.warnings == []
    assert plan.outcomes[0].status == "new"


def test_customer_name_differing_is_a_warning_naming_the_rows(org):
    customer = CustomerFactory(organization=org, name="Acme", external_id="AC-1")
    rows = [
        row(2, customer, "C-1", "a@b.example", customer_name="Acme Ltd"),
        row(3, customer, "C-2", "b@b.example", customer_name="Acme Ltd"),
    ]

    plan = plan_rows(organization=org, rows=rows)

    message = checks.CUSTOMER_NAME_DIFFERS.format(
        value="Acme Ltd", stored="Acme", rows="rows 2 and 3", code="AC-1"
    )
    assert [(w.row, w.field, w.message) for w in plan.warnings] == [(2, "customer_name", message)]
    assert plan.totals["new"] == 2


def test_identifier_on_several_rows_is_an_error_on_each_of_them(org):
    customer = CustomerFactory(organization=org)
    rows = [
        row(2, customer, "C-1", "a@b.example"),
        row(3, customer, "C-2", "b@b.example"),
        row(5, customer, "C-1", "c@b.example"),
    ]

    plan = plan_rows(organization=org, rows=rows)

    message = checks.CONTACT_ID_REPEATED.format(value="C-1", rows="rows 2 and 5")
    assert only_errors(plan) == [(2, "external_id", message), (5, "external_id", message)]
    assert [o.status for o in plan.outcomes] == ["invalid", "new", "invalid"]


def test_identifier_of_another_customers_contact_is_an_error(org):
    customer = CustomerFactory(organization=org)
    other = CustomerFactory(organization=org, external_id="OTHER-1")
    ContactFactory(customer=other, external_id="C-1")

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1", "a@b.example")])

    message = checks.CONTACT_OF_ANOTHER_CUSTOMER.format(value="C-1", code="OTHER-1")
    assert only_errors(plan) == [(2, "external_id", message)]


def test_email_of_another_contact_of_the_customer_in_the_database_is_an_error_naming_that_contact(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(
        customer=customer, external_id="CT-7", email="taken@b.example", first_name="Jeanne", last_name="Roux"
    )

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1", "Taken@B.example")])

    message = checks.EMAIL_TAKEN_BY.format(name="Jeanne Roux", code="CT-7")
    assert only_errors(plan) == [(2, "email", message)]


def test_email_used_by_another_customer_or_kept_by_the_contact_itself_is_fine(org):
    customer = CustomerFactory(organization=org)
    other = CustomerFactory(organization=org)
    ContactFactory(customer=other, email="shared@b.example")
    ContactFactory(customer=customer, external_id="C-2", email="mine@b.example")
    rows = [row(2, customer, "C-1", "shared@b.example"), row(3, customer, "C-2", "mine@b.example")]

    plan = plan_rows(organization=org, rows=rows)

    assert plan.errors == []


def test_email_used_earlier_in_the_file_is_an_error_on_the_later_row(org):
    customer = CustomerFactory(organization=org)
    rows = [row(2, customer, "C-1", "same@b.example"), row(3, customer, "C-2", "SAME@b.example")]

    plan = plan_rows(organization=org, rows=rows)

    assert only_errors(plan) == [(3, "email", checks.EMAIL_USED_EARLIER.format(row="row 2"))]


@pytest.mark.parametrize("value", ["SALES", "sales", "Purchaser", "payer", ""])
def test_occupation_is_read_whatever_its_case(org, value):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1", "a@b.example", occupation=value)])

    assert plan.outcomes[0].values["occupation"] == value.upper()
    assert plan.errors == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("yes", True),
        ("TRUE", True),
        ("Oui", True),
        ("x", True),
        ("X", True),
        ("0", False),
        ("no", False),
        ("False", False),
        ("NON", False),
        ("", False),
        (True, True),
        (False, False),
        (None, False),
    ],
)
def test_main_contact_values_for_a_new_contact(org, value, expected):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1", "a@b.example", is_main=value)])

    assert plan.outcomes[0].values["is_main"] is expected
    assert plan.errors == []


@pytest.mark.parametrize("value", ["", None])
def test_blank_main_contact_leaves_an_existing_main_contact_unchanged(org, value):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer, is_main=True)

    plan = plan_rows(
        organization=org,
        rows=[
            row(
                2,
                customer,
                contact.external_id,
                contact.email,
                first_name=contact.first_name,
                last_name=contact.last_name,
                is_main=value,
            )
        ],
    )

    assert plan.outcomes[0].values["is_main"] is True
    assert plan.outcomes[0].status == "unchanged"


def test_row_equal_to_the_stored_contact_is_unchanged(org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(
        customer=customer, email="a@b.example", phone="+33612345678", occupation="SALES", is_main=False
    )
    values = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone": "06 12 34 56 78",
        "occupation": "sales",
        "is_main": "0",
    }

    plan = plan_rows(organization=org, rows=[row(2, customer, contact.external_id, "A@B.example", **values)])

    assert plan.outcomes[0].status == "unchanged"
    assert plan.outcomes[0].contact_id == contact.pk
    assert plan.totals == {"rows": 1, "new": 0, "updated": 0, "unchanged": 1, "invalid": 0}


def test_update_records_the_previous_values_of_the_changed_fields_only(org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer, email="a@b.example", first_name="Ann", last_name="Lee")

    plan = plan_rows(
        organization=org,
        rows=[
            row(2, customer, contact.external_id, "new@b.example", first_name="Ann", last_name="Lee-Smith")
        ],
    )

    (outcome,) = plan.outcomes
    assert outcome.status == "updated"
    assert outcome.previous == {"email": "a@b.example", "last_name": "Lee"}


def test_absent_column_keeps_the_stored_value(org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer, phone="+33612345678", occupation="PAYER")

    plan = plan_rows(
        organization=org,
        rows=[
            row(
                2,
                customer,
                contact.external_id,
                contact.email,
                first_name=contact.first_name,
                last_name=contact.last_name,
            )
        ],
    )

    assert plan.outcomes[0].status == "unchanged"
    assert plan.outcomes[0].values["phone"] == "+33612345678"


def test_several_main_contacts_for_a_customer_the_last_wins_with_a_warning(org):
    customer = CustomerFactory(organization=org, external_id="AC-1")
    rows = [
        row(2, customer, "C-1", "a@b.example", is_main="1"),
        row(3, customer, "C-2", "b@b.example", is_main="yes"),
        row(4, customer, "C-3", "c@b.example", is_main="x"),
    ]

    plan = plan_rows(organization=org, rows=rows)

    assert [o.values["is_main"] for o in plan.outcomes] == [False, False, True]
    message = main_contacts.MAIN_CONTACT_LAST_WINS.format(code="AC-1", rows="rows 2, 3 and 4", row="row 4")
    assert [(w.row, w.field, w.message) for w in plan.warnings] == [(4, "is_main", message)]


def test_invalid_row_does_not_win_the_main_contact(org):
    customer = CustomerFactory(organization=org)
    rows = [
        row(2, customer, "C-1", "a@b.example", is_main="1"),
        row(3, customer, "C-2", "not-an-email", is_main="1"),
    ]

    plan = plan_rows(organization=org, rows=rows)

    assert plan.outcomes[0].values["is_main"] is True
    assert plan.warnings == []


def test_api_items_are_labelled_as_items(org):
    customer = CustomerFactory(organization=org)
    rows = [row(0, customer, "C-1", "a@b.example"), row(1, customer, "C-1", "b@b.example")]

    plan = plan_rows(organization=org, rows=rows, row_label="item")

    assert plan.errors[0].message == checks.CONTACT_ID_REPEATED.format(value="C-1", rows="items 0 and 1")


def test_whole_organization_lookup_gives_the_same_plan_as_the_in_lookup(org, monkeypatch):
    customer = CustomerFactory(organization=org)
    other_org_customer = CustomerFactory(external_id=customer.external_id)
    ContactFactory(customer=other_org_customer, external_id="C-1")
    ContactFactory(customer=customer, external_id="C-2", email="old@b.example")
    ContactFactory(organization=org, customer=CustomerFactory(organization=org), external_id="C-9")
    rows = [row(2, customer, "C-1", "a@b.example"), row(3, customer, "C-2", "new@b.example")]
    small = plan_rows(organization=org, rows=rows)

    monkeypatch.setattr(planning, "IN_LOOKUP_LIMIT", 0)
    large = plan_rows(organization=org, rows=rows)

    assert [(o.status, o.previous) for o in large.outcomes] == [
        (o.status, o.previous) for o in small.outcomes
    ]
    assert [o.status for o in large.outcomes] == ["new", "updated"]


def test_stored_main_listed_with_a_blank_main_cell_loses_to_an_earlier_row_claiming_it(org):
    customer = CustomerFactory(organization=org)
    current = ContactFactory(customer=customer, is_main=True)
    rows = [
        row(2, customer, "C-NEW", "new@b.example", is_main="1"),
        row(3, customer, current.external_id, current.email, first_name=current.first_name, is_main=""),
    ]

    plan = plan_rows(organization=org, rows=rows)

    assert [o.values["is_main"] for o in plan.outcomes] == [True, False]
    assert plan.outcomes[1].previous == {"is_main": True}
    assert plan.warnings == []


def test_an_identifier_code_with_a_line_break_is_refused_like_the_api_refuses_it(org):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1\nC-2", "a@b.example")])

    assert only_errors(plan) == [(2, "external_id", IDENTIFIER_UNPRINTABLE.format(value="C-1\\nC-2"))]


def test_nul_characters_in_codes_are_row_errors_and_in_names_are_removed(org):
    customer = CustomerFactory(organization=org)
    rows = [
        RowInput(
            row=2, values={"customer_external_id": "C\x00", "external_id": "K-1", "email": "a@b.example"}
        ),
        RowInput(
            row=3,
            values={
                "customer_external_id": customer.external_id,
                "external_id": "K\x00",
                "email": "b@b.example",
            },
        ),
        row(4, customer, "K-3", "c@b.example", first_name="Zo\x00é"),
    ]

    plan = plan_rows(organization=org, rows=rows)

    assert [(p.row, p.field) for p in plan.errors] == [(2, "customer_external_id"), (3, "external_id")]
    assert plan.errors[0].message == IDENTIFIER_UNPRINTABLE.format(value="C\\x00")
    assert plan.outcomes[2].values["first_name"] == "Zoé"
