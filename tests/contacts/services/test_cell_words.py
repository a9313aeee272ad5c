"""The words of a cell as clients write them: decimal-comma ones, French Excel's booleans, abbreviated
occupations, an email with a list separator after it."""

import pytest

from contacts.importing.pipeline import preview_import
from contacts.normalization import EMAIL_SEPARATOR_LEFT_OUT, email_of_cell
from contacts.services.values import occupation_value, parse_main_contact
from tests.factories import CustomerFactory
from tests.helpers import contact_row, csv_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "meaning"),
    [("1,0", True), ("1.0", True), ("VRAI", True), ("Vrai", True), ("0,0", False), ("FAUX", False)],
)
def test_main_contact_words_of_french_excel_and_decimal_numbers(text, meaning):
    assert parse_main_contact(text) is meaning


@pytest.mark.parametrize(
    ("text", "occupation"),
    [("Compta.", "ACCOUNTING"), ("Compta", "ACCOUNTING"), ("Comptab.", "ACCOUNTING"), ("Cial", "SALES")],
)
def test_abbreviated_occupations(text, occupation):
    assert occupation_value(text) == occupation


def test_a_lone_dot_is_no_occupation():
    assert occupation_value(".") is None


@pytest.mark.parametrize(("cell", "separator"), [("ann@b.example;", ";"), ("ann@b.example , ", ",")])
def test_a_list_separator_after_one_address_is_left_out_with_a_warning(cell, separator):
    email, warnings = email_of_cell(cell)

    assert email == "ann@b.example"
    assert warnings == (
        str(EMAIL_SEPARATOR_LEFT_OUT.format(value=cell.strip(), separator=separator, email=email)),
    )


def test_a_file_with_these_words_previews_without_errors(org):
    customer = CustomerFactory(organization=org)
    rows = [
        contact_row(customer, "C-1", "a@b.example;", occupation="Compta.", is_main="1,0"),
        contact_row(customer, "C-2", "b@b.example", occupation="Compta", is_main="FAUX"),
    ]

    report = preview_import(organization=org, data=csv_bytes(rows, delimiter=";"), filename="c.csv")

    assert (report.errors, report.totals["new"]) == ([], 2)
    assert [(problem.row, problem.field) for problem in report.warnings] == [(2, "email")]
    assert [outcome.values["is_main"] for outcome in report.plan.outcomes] == [True, False]
