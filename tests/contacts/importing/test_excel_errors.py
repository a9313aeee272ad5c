"""A cell showing an Excel error (#N/A, #REF!…) is an error of that cell, never a blank nor a value."""

import pytest

from contacts.importing.pipeline import preview_import
from contacts.importing.reading.sheet_xml import sheet_marks
from contacts.models import Contact
from contacts.services.values import EXCEL_ERROR
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import HEADERS, contact_row, csv_bytes, workbook_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


def errors_of(report) -> list[tuple[int, str, str]]:
    return [(problem.row, problem.field, problem.message) for problem in report.errors]


def shows(error: str) -> str:
    return str(EXCEL_ERROR.format(error=error))


def test_error_cells_of_an_xlsx_are_errors_of_their_cells_not_blanks(org):
    customer = CustomerFactory(organization=org)
    rows = [
        contact_row(customer, "C-1", "#N/A", first_name="#REF!", phone="#VALUE!"),
        contact_row(customer, "C-2", "b@b.example", last_name="#DIV/0!", occupation="#NAME?"),
        contact_row(customer, "C-3", "c@b.example"),
    ]

    report = preview_import(organization=org, data=xlsx_bytes(rows), filename="c.xlsx")

    assert errors_of(report) == [
        (2, "email", shows("#N/A")),
        (2, "first_name", shows("#REF!")),
        (2, "phone", shows("#VALUE!")),
        (3, "last_name", shows("#DIV/0!")),
        (3, "occupation", shows("#NAME?")),
    ]
    assert report.totals == {"rows": 3, "new": 1, "updated": 0, "unchanged": 0, "invalid": 2}


def test_a_csv_holding_an_excel_error_text_is_an_error_in_any_column(org):
    customer = CustomerFactory(organization=org)
    rows = [
        [*contact_row(customer, "C-1", "a@b.example", is_main="#N/A")[:-1], "#N/A"],
        ["#N/A", customer.external_id, "#VALEUR!", "b@b.example", "", "", "", "", ""],
    ]

    report = preview_import(organization=org, data=csv_bytes(rows), filename="c.csv")

    assert errors_of(report) == [
        (2, "is_main", shows("#N/A")),
        (3, "customer_name", shows("#N/A")),
        (3, "external_id", shows("#VALEUR!")),
    ]
    assert report.reading.reasons == []  # not offered as an unknown value to give a meaning


def test_an_existing_contacts_error_cell_keeps_nothing_silently(org):
    contact = ContactFactory(customer=CustomerFactory(organization=org), first_name="Élodie")
    row = contact_row(contact.customer, contact.external_id, contact.email, first_name="#N/A")

    report = preview_import(organization=org, data=xlsx_bytes([row]), filename="c.xlsx")

    assert errors_of(report) == [(2, "first_name", shows("#N/A"))]
    assert Contact.objects.get().first_name == "Élodie"


def test_sheet_marks_name_the_error_cells_of_the_sheet_asked_for_by_row_and_column():
    data = workbook_bytes(
        {"Notes": [["#REF!"]], "A & B": [HEADERS, ["x", "#N/A"], [], ["y", "z", "#DIV/0!"]]}, start="B3"
    )

    marks = sheet_marks(data, "A & B")

    assert marks.errors == {(4, 2): "#N/A", (6, 3): "#DIV/0!"}


def test_an_error_cell_is_placed_in_its_column_when_the_sheet_starts_right_of_column_a(org):
    customer = CustomerFactory(organization=org)
    row = contact_row(customer, "C-1", "a@b.example", first_name="#N/A")
    data = workbook_bytes({"Contacts": [HEADERS, row]}, start="C2")

    report = preview_import(organization=org, data=data, filename="c.xlsx")

    assert errors_of(report) == [(3, "first_name", shows("#N/A"))]
