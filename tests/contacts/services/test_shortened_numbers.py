"""A code or phone that Excel wrote in scientific notation (its CSV export of a long number) has lost its
digits: an error that says so, never a code or phone read as is."""

import pytest

from contacts.importing.pipeline import preview_import
from contacts.services.values import SHORTENED_NUMBER, shortened_number
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import contact_row, csv_bytes

pytestmark = pytest.mark.django_db


def shortened(value: str) -> str:
    return str(SHORTENED_NUMBER.format(value=value))


def test_identifiers_and_phones_in_scientific_notation_are_errors_saying_excel_shortened_them(org):
    customer = CustomerFactory(organization=org, external_id="AC-1")
    rows = [
        contact_row(customer, "1.23457E+11", "a@b.example"),
        contact_row(customer, "C-2", "b@b.example", phone="3.3612345678E+10"),
        contact_row(customer, "C-3", "c@b.example", customer_external_id="4,5E+12"),
    ]

    report = preview_import(organization=org, data=csv_bytes(rows), filename="c.csv")

    assert [(problem.row, problem.field, problem.message) for problem in report.errors] == [
        (2, "external_id", shortened("1.23457E+11")),
        (3, "phone", shortened("3.3612345678E+10")),
        (4, "customer_external_id", shortened("4,5E+12")),
    ]


def test_a_stored_code_that_looks_scientific_is_still_the_stored_one(org):
    customer = CustomerFactory(organization=org, external_id="1E+05")
    contact = ContactFactory(customer=customer, external_id="2E+10")
    row = contact_row(customer, "2E+10", contact.email, first_name="Ann")

    report = preview_import(organization=org, data=csv_bytes([row]), filename="c.csv")

    assert (report.errors, report.totals["updated"]) == ([], 1)


@pytest.mark.parametrize("text", ["1E5", "E+10", "12E+10", "AC-1E+10", "1.2E-05", "+33 6 12 34 56 78"])
def test_other_texts_are_not_taken_for_scientific_notation(text):
    assert shortened_number(text) is None
