"""Templates and error reports: headers, drop-down lists, and formula-like cells escaped in every export."""

import csv
import io

import openpyxl
import pytest

from contacts.admin.history import stored_problem_label
from contacts.importing import reports
from contacts.importing.columns import ENGLISH_HEADERS, FIELDS
from contacts.importing.pipeline import preview_import
from contacts.importing.reading import Table
from contacts.importing.resources import ContactSpreadsheetResource
from contacts.services.rows import Problem
from tests.factories import CustomerFactory
from tests.helpers import HEADERS, contact_row, csv_bytes

FORMULAS = ["=1+1", "+33612345678", "-2+3", "@SUM(A1:A2)", "\t=cmd", "\r=cmd", '=HYPERLINK("http://evil")']


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def read_xlsx(content: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(content)).active.values)


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_cells_get_a_leading_apostrophe(text):
    assert reports.escape_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["", "Camille", "a=b", "1+1", "06 12 34 56 78", "x@y.example", " =1"])
def test_other_cells_are_left_as_they_are(text):
    assert reports.escape_cell(text) == text


def test_escape_cell_writes_none_as_blank_and_numbers_as_text():
    assert (reports.escape_cell(None), reports.escape_cell(-5), reports.escape_cell(7)) == ("", "'-5", "7")


def test_csv_error_report_escapes_every_formula_like_cell():
    table = Table(
        format="csv",
        headers=["=Header", "Name"],
        rows=[(row, [text, "ok"]) for row, text in enumerate(FORMULAS, start=2)],
        sheet_name=None,
    )
    problems = [(row, "@error") for row in range(2, 2 + len(FORMULAS))]

    lines = read_csv(reports.error_report(table, problems, format="csv"))

    assert lines[0] == ["'=Header", "Name", reports.ERROR_COLUMN]
    assert [line[0] for line in lines[1:]] == ["'" + text for text in FORMULAS]
    assert {line[2] for line in lines[1:]} == {"'@error"}


def test_xlsx_error_report_escapes_every_formula_like_cell_and_holds_no_formula():
    table = Table(
        format="xlsx",
        headers=["=Header", "Name"],
        rows=[(row, [text, "ok"]) for row, text in enumerate(FORMULAS, start=2)],
        sheet_name="Contacts",
    )
    problems = [(row, "+error") for row in range(2, 2 + len(FORMULAS))]

    content = reports.error_report(table, problems, format="xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type == "s" for cell in cells)
    rows = list(sheet.values)
    assert rows[0] == ("'=Header", "Name", reports.ERROR_COLUMN)
    # XML reads a carriage return back as a line feed; the apostrophe is what matters.
    assert [row[0] for row in rows[1:]] == ["'" + text.replace("\r", "\n") for text in FORMULAS]
    assert {row[2] for row in rows[1:]} == {"'+error"}


def test_error_report_holds_only_the_invalid_rows_with_every_message_of_each():
    table = Table(
        format="csv",
        headers=["A", "B"],
        rows=[(2, ["a2", "b2"]), (3, ["a3", "b3"]), (5, ["a5", "b5"])],
        sheet_name=None,
    )
    problems = [(5, "first problem"), (3, "only problem"), (5, "second problem"), (None, "file problem")]

    for format in ("csv", "xlsx"):
        content = reports.error_report(table, problems, format=format)
        lines = (
            read_csv(content)
            if format == "csv"
            else [[cell or "" for cell in row] for row in read_xlsx(content)]
        )

        assert lines == [
            ["A", "B", "Error"],
            ["", "", "file problem"],
            ["a3", "b3", "only problem"],
            ["a5", "b5", "first problem\nsecond problem"],
        ], format


def test_error_report_of_an_unreadable_file_has_only_the_error_column():
    lines = read_csv(reports.error_report(None, [(None, "The file is empty.")], format="csv"))

    assert lines == [["Error"], ["The file is empty."]]


def test_xlsx_error_report_drops_control_characters_xml_cannot_hold():
    table = Table(format="csv", headers=["A"], rows=[(2, ["bad\x01cell\x1b"])], sheet_name=None)

    rows = read_xlsx(reports.error_report(table, [(2, "problem")], format="xlsx"))

    assert rows[1] == ("badcell", "problem")


def test_xlsx_error_report_cuts_a_cell_excel_could_not_open_and_says_so():
    huge = "x" * 1_000_000
    table = Table(format="csv", headers=["A"], rows=[(2, [huge])], sheet_name=None)

    rows = read_xlsx(reports.error_report(table, [(2, "problem")], format="xlsx"))

    assert len(rows[1][0]) == reports.EXCEL_CELL_LIMIT
    assert rows[1][0].endswith("… [cut: 1,000,000 characters]")
    assert rows[1][0].startswith("x" * 30_000)


def test_unknown_export_format_is_refused():
    with pytest.raises(ValueError, match="ods"):
        reports.error_report(None, [], format="ods")


def test_csv_template_has_the_english_headers_in_order_and_one_example_row():
    lines = read_csv(reports.template_csv())

    assert lines[0] == [ENGLISH_HEADERS[name] for name in FIELDS]
    assert len(lines) == 2
    assert dict(zip(FIELDS, lines[1], strict=True)) == reports.TEMPLATE_EXAMPLE


def test_xlsx_template_has_the_headers_the_example_and_two_drop_down_lists():
    sheet = openpyxl.load_workbook(io.BytesIO(reports.template_xlsx())).active

    assert [cell.value for cell in sheet[1]] == HEADERS
    assert [cell.value for cell in sheet[2]] == [reports.TEMPLATE_EXAMPLE[name] for name in FIELDS]
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 2
    by_range = {str(v.sqref): v for v in validations}
    occupation, main = by_range["H2:H10001"], by_range["I2:I10001"]
    assert (occupation.type, occupation.formula1) == ("list", '"ACCOUNTING,SALES,PURCHASER,PAYER"')
    assert (main.type, main.formula1) == ("list", '"1,0"')
    assert occupation.allow_blank
    assert main.allow_blank


@pytest.mark.django_db
@pytest.mark.parametrize("template", [reports.template_csv, reports.template_xlsx])
def test_the_template_example_imports_as_one_new_contact(org, template):
    example = reports.TEMPLATE_EXAMPLE
    CustomerFactory(
        organization=org, external_id=example["customer_external_id"], name=example["customer_name"]
    )
    name = "template.csv" if template is reports.template_csv else "template.xlsx"

    report = preview_import(organization=org, data=template(), filename=name)

    assert report.errors == []
    assert report.warnings == []
    assert report.totals == {"rows": 1, "new": 1, "updated": 0, "unchanged": 0, "invalid": 0}


@pytest.mark.django_db
def test_stored_problems_are_worded_as_the_report_words_them(org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([contact_row(customer, "C-1", "nope"), contact_row(customer, "", "a@b.example")])
    report = preview_import(organization=org, data=data, filename="a.csv")
    report.errors.append(Problem(row=None, field=None, message="A file problem."))
    assert len(report.errors) == 3

    for problem in report.errors:
        stored = {"row": problem.row, "column": report.column(problem), "message": problem.message}
        assert stored_problem_label(stored) == report.label(problem)


def test_templates_follow_the_spreadsheet_resources_layout():
    resource = ContactSpreadsheetResource()

    assert reports.template_headers() == resource.get_export_headers()
    assert read_csv(reports.template_csv())[0] == resource.get_export_headers()
