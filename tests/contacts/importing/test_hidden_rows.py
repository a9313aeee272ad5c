"""Rows and sheets hidden in Excel: hidden rows are imported, and named in a warning; hidden sheets are
not read, and named in a warning."""

import io

import openpyxl
import pytest

from contacts.importing.interpretation import HIDDEN_ROWS, HIDDEN_SHEETS
from contacts.importing.pipeline import preview_import
from tests.factories import CustomerFactory
from tests.helpers import HEADERS, contact_row

pytestmark = pytest.mark.django_db


def workbook(rows: list[list], *, hidden_rows=(), hidden_sheet: str = "") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Contacts"
    for row in [HEADERS, *rows]:
        sheet.append(row)
    for number in hidden_rows:
        sheet.row_dimensions[number].hidden = True
    if hidden_sheet:
        book.create_sheet(hidden_sheet).sheet_state = "hidden"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_hidden_rows_are_imported_and_named_in_a_warning(org):
    customer = CustomerFactory(organization=org)
    rows = [contact_row(customer, f"C-{n}", f"c{n}@b.example") for n in range(1, 5)]

    report = preview_import(organization=org, data=workbook(rows, hidden_rows=(3, 5)), filename="c.xlsx")

    assert [problem.message for problem in report.warnings] == [str(HIDDEN_ROWS.format(rows="rows 3 and 5"))]
    assert report.totals["new"] == 4


def test_a_hidden_sheet_is_named_in_a_warning(org):
    customer = CustomerFactory(organization=org)
    data = workbook([contact_row(customer, "C-1", "c@b.example")], hidden_sheet="Archive 2023")

    report = preview_import(organization=org, data=data, filename="c.xlsx")

    assert [problem.message for problem in report.warnings] == [
        str(HIDDEN_SHEETS.format(sheets='"Archive 2023"'))
    ]
