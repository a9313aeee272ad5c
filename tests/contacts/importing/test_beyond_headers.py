"""A data row holding values to the right of the last column header is an error naming its row and the
column, never silently cut."""

import pytest

from contacts.importing import reports
from contacts.importing.pipeline import preview_import
from contacts.importing.row_marks import BEYOND_HEADERS
from tests.factories import CustomerFactory
from tests.helpers import HEADERS, contact_row, csv_bytes, workbook_bytes

pytestmark = pytest.mark.django_db


def beyond(column: str) -> str:
    return str(BEYOND_HEADERS.format(column=column))


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_a_row_with_values_beyond_the_last_header_is_an_error_naming_the_column(org, format):
    customer = CustomerFactory(organization=org)
    rows = [
        contact_row(customer, "C-1", "a@b.example"),
        [*contact_row(customer, "C-2", "b@b.example"), "", "a note"],
        [*contact_row(customer, "C-3", "c@b.example"), "  "],
    ]
    data = csv_bytes(rows) if format == "csv" else workbook_bytes({"Contacts": [HEADERS, *rows]})

    report = preview_import(organization=org, data=data, filename=f"c.{format}")

    assert [(problem.row, problem.field, problem.message) for problem in report.errors] == [
        (3, None, beyond("K"))
    ]
    assert report.label(report.errors[0]).startswith("Row 3: This row has values beyond")
    assert report.totals == {"rows": 3, "new": 2, "updated": 0, "unchanged": 0, "invalid": 1}


def test_the_column_is_named_by_its_letter_when_the_sheet_starts_right_of_column_a(org):
    customer = CustomerFactory(organization=org)
    row = [*contact_row(customer, "C-1", "a@b.example"), 7]
    data = workbook_bytes({"Contacts": [HEADERS, row]}, start="B1")

    report = preview_import(organization=org, data=data, filename="c.xlsx")

    assert [problem.message for problem in report.errors] == [beyond("K")]


def test_the_error_report_lists_the_row_with_its_message(org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([[*contact_row(customer, "C-1", "a@b.example"), "note"]])
    report = preview_import(organization=org, data=data, filename="c.csv")

    content = reports.import_error_report(report, data, format="csv").decode("utf-8-sig")

    assert "C-1" in content
    assert "beyond the last column header (column J)" in content
