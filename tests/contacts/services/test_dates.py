"""A date where text was meant: cells Excel typed as dates are refused; dates in text are flagged."""

import pytest
from django.utils import translation

from contacts.services import checks
from contacts.services.dates import EXCEL_DATE, PHONE_LOOKS_LIKE_A_DATE, excel_date_problem, looks_like_a_date
from contacts.services.planning import plan_rows
from contacts.services.rows import RowInput
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def dated_row(customer, dates: set[str], **values) -> RowInput:
    """A row as the workbook reader gives it, `dates` naming the cells Excel typed as dates."""
    cells = {
        "customer_name": customer.name,
        "customer_external_id": customer.external_id,
        "external_id": "C-1",
        "email": "a@b.example",
        **values,
    }
    return RowInput(row=2, values=cells, trimmed=True, dates=frozenset(dates))


@pytest.mark.parametrize(
    ("field", "cell"),
    [
        ("external_id", "2026-12-03"),
        ("email", "2026-12-03"),
        ("phone", "2026-06-12"),
    ],
)
def test_a_code_email_or_phone_excel_typed_as_a_date_is_an_error_that_says_so(org, field, cell):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[dated_row(customer, {field}, **{field: cell})])

    (outcome,) = plan.outcomes
    assert outcome.status == "invalid"
    assert [(p.field, p.message) for p in outcome.errors] == [(field, excel_date_problem(cell))]


def test_a_customer_code_excel_typed_as_a_date_is_an_error_that_says_so(org):
    customer = CustomerFactory(organization=org, external_id="2026-12-03")

    plan = plan_rows(organization=org, rows=[dated_row(customer, {"customer_external_id"})])

    assert [(p.field, p.message) for p in plan.errors] == [
        ("customer_external_id", excel_date_problem("2026-12-03"))
    ]


def test_the_message_shows_the_date_as_the_language_writes_it_and_what_to_do():
    with translation.override("fr"):
        french = excel_date_problem("2026-12-03")
        assert french == EXCEL_DATE.format(date="03/12/2026")
    with translation.override("en"):
        english = excel_date_problem("2026-12-03")
        assert english == EXCEL_DATE.format(date="12/03/2026")

    assert french.startswith("Excel a transformé cette cellule en date (03/12/2026)")
    assert english.endswith("format the column as Text and type it again.")


def test_a_date_in_a_name_or_an_occupation_cell_is_no_concern_of_the_date_check(org):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[dated_row(customer, {"first_name"}, first_name="2026-12-03")])

    assert plan.errors == []
    assert plan.outcomes[0].values["first_name"] == "2026-12-03"


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-03",
        "2026-12-03 14:05:00",
        "03/12/2026",
        "3/12/26",
        "03.12.2026",
        "03/12",
        "03-déc",
        "3-Dec-26",
        "Dec-03",
        "déc.-26",
    ],
)
def test_the_forms_excel_writes_a_date_in_look_like_dates(text):
    assert looks_like_a_date(text)


@pytest.mark.parametrize(
    "text", ["CT-1001", "CUST-00017", "12345", "AC-C1001-2", "03-12-AB", "A1", "", "Marc-12x"]
)
def test_codes_look_like_dates_only_when_they_are_dates(text):
    assert not looks_like_a_date(text)


def test_a_new_contact_code_that_looks_like_a_date_in_text_is_a_warning_not_an_error(org):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[dated_row(customer, set(), external_id="03/12/2026")])

    assert plan.outcomes[0].status == "new"
    message = checks.CONTACT_ID_LOOKS_LIKE_A_DATE.format(value="03/12/2026")
    assert [(w.row, w.field, w.message) for w in plan.warnings] == [(2, "external_id", message)]


def test_a_stored_code_that_looks_like_a_date_is_not_flagged_again(org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer, external_id="03/12/2026", email="a@b.example")

    plan = plan_rows(organization=org, rows=[dated_row(customer, set(), external_id=contact.external_id)])

    assert plan.warnings == []


def test_an_unknown_customer_code_that_looks_like_a_date_says_so(org):
    customer = CustomerFactory.build(organization=org, external_id="03-déc")

    plan = plan_rows(organization=org, rows=[dated_row(customer, set())])

    message = checks.CUSTOMER_CODE_LOOKS_LIKE_A_DATE.format(organization=org.name, value="03-déc")
    assert [(p.field, p.message) for p in plan.errors] == [("customer_external_id", message)]


def test_a_phone_in_text_that_is_a_date_says_so_instead_of_invalid_phone(org):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[dated_row(customer, set(), phone="12/06/2026")])

    assert [(p.field, p.message) for p in plan.errors] == [
        ("phone", PHONE_LOOKS_LIKE_A_DATE.format(value="12/06/2026"))
    ]
