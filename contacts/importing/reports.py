"""Files the admin hands out: the import templates and the error report of an import.

The error report comes back in the client's shape: a CSV in the uploaded file's delimiter and encoding
(cp1252 `;` in, cp1252 `;` out), an XLSX with the invalid cells filled red and their message as a
comment; the file's own header row, and an Error column whose header and "Row 7" labels are in the
active language (the admin renders the report in the language of the file's headers, or the one chosen
on the link, by running the checks again under `translation.override`).

No report holds a formula. Control characters are removed before anything else (a `\x01=HYPERLINK(…)`
would otherwise lose its `\x01` after the check). XLSX cells are written as text cells, so they are
never formulas and need no apostrophe. A CSV has no cell types: a cell a spreadsheet would read as a
formula gets OWASP's leading apostrophe, except a number or a phone (`+33 6 12 34 56 78`, `-5`): a cell
of digits, spaces and `+-.()/` alone cannot call a function or reach another cell, so it stays as written.
"""

import codecs
import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from contacts.fields import ENGLISH_HEADERS, FRENCH_HEADERS
from contacts.importing.columns import normalize_header
from contacts.importing.reading import Table
from contacts.importing.resources import ContactSpreadsheetResource
from contacts.services.rows import problem_label
from contacts.services.values import OCCUPATIONS

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE}

ERROR_COLUMN = _("Error")
TEMPLATE_SHEET = "Contacts"
REPORT_SHEET = _("Errors")
# One row a client can overwrite: every column filled, values that pass the rules for a French
# organization.
TEMPLATE_EXAMPLE = {
    "customer_name": "Boulangerie Martin",
    "customer_external_id": "CUST-1001",
    "external_id": "CONTACT-1001-1",
    "email": "camille.martin@example.com",
    "first_name": "Camille",
    "last_name": "Martin",
    "phone": "06 12 34 56 78",
    "occupation": "ACCOUNTING",
    "is_main": "1",
}
MAIN_CONTACT_CHOICES = ("1", "0")
# Drop-down lists cover this many rows under the header; Excel keeps them when rows are inserted.
VALIDATED_ROWS = 10_000
# The drop-down lists' help in the XLSX template and export, in the active language.
OCCUPATION_PROMPT = _("Leave blank, or choose {choices}.")
MAIN_CONTACT_PROMPT = _("1 for the customer's main contact, 0 (or blank) otherwise.")

# A cell starting with one of these is read as a formula (or as the start of one) by spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# ... unless it is a number or a phone: digits with spaces, dots, parentheses, slashes and dashes.
NUMBER_OR_PHONE = re.compile(r"[+-]?[0-9][0-9 .()/-]*")
# Control characters but tab and line breaks (a cell may hold those): never written to a report.
REPORT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# The languages a report can be written in: those of the headers the import reads.
# The values name them in the reader's language, for the preview's links.
REPORT_LANGUAGES = {"en": _("English"), "fr": _("French")}
_HEADER_KEYS = {
    language: {normalize_header(header) for header in headers.values()}
    for language, headers in (("en", ENGLISH_HEADERS), ("fr", FRENCH_HEADERS))
}


def header_language(headers: Iterable[str] | None) -> str:
    """ "fr" when more of the headers are the French ones than the English ones, else "en"."""
    keys = [normalize_header(header) for header in headers or ()]
    french = sum(key in _HEADER_KEYS["fr"] for key in keys)
    english = sum(key in _HEADER_KEYS["en"] for key in keys)
    return "fr" if french > english else "en"


def report_language(requested: str | None, headers: Iterable[str] | None) -> str:
    """The language asked for when it is one a report is written in, else the headers' language."""
    return requested if requested in REPORT_LANGUAGES else header_language(headers)


def without_controls(value: object) -> str:
    text = "" if value is None else str(value)
    return text if text.isprintable() else REPORT_CONTROLS.sub("", text)


def escape_cell(value: object) -> str:
    """The cell as CSV text: control characters removed, then a leading apostrophe when a spreadsheet
    would read it as a formula (not for a number or a phone)."""
    text = without_controls(value)
    if text.startswith(FORMULA_STARTS) and not NUMBER_OR_PHONE.fullmatch(text):
        return "'" + text
    return text


@dataclass(frozen=True)
class CsvShape:
    """How a CSV is written: the uploaded file's delimiter and encoding."""

    delimiter: str = ","
    encoding: str = "utf-8-sig"  # with a BOM: Excel then reads accents right


def csv_shape(data: bytes | None) -> CsvShape:
    """The delimiter and encoding of an uploaded CSV, for its report to be opened the same way.

    UTF-8 (with or without a BOM) comes back as UTF-8 with a BOM, UTF-16 as UTF-16, Windows-1252 as
    Windows-1252; a file mixing UTF-8 and Windows-1252 comes back as UTF-8. Not a CSV (a workbook,
    nothing readable): a comma and UTF-8.
    """
    if not data:
        return CsvShape()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return CsvShape(_delimiter(data.decode("utf-16", errors="replace")), "utf-16")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        text, encoding = data.decode("cp1252", errors="replace"), "cp1252"
        if re.search(rb"[\xc2-\xf4][\x80-\xbf]", data):  # UTF-8 pasted into a cp1252 file
            encoding = "utf-8-sig"
    return CsvShape(_delimiter(text), encoding)


def _delimiter(text: str) -> str:
    """`,`, `;` or tab: the one the first line uses most outside quotes (a comma when none)."""
    counts = dict.fromkeys(",;\t", 0)
    quoted = False
    for char in text.lstrip("\r\n")[:65536]:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "\r\n":
            break
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def template_columns(language: str = "en") -> list[tuple[str, str]]:
    """(field, header) in the spreadsheet resource's order, which the templates follow; the headers in
    English or French ("fr"), both of which the import reads."""
    resource = ContactSpreadsheetResource()
    headers = FRENCH_HEADERS if language == "fr" else None
    return [
        (name, headers[name] if headers else resource.fields[name].column_name)
        for name in resource.get_export_order()
    ]


def template_headers(language: str = "en") -> list[str]:
    return [header for _name, header in template_columns(language)]


def template_example() -> list[str]:
    return [TEMPLATE_EXAMPLE[name] for name, _header in template_columns()]


def template_csv(language: str = "en") -> bytes:
    """The import template as CSV: the headers and one example row, UTF-8 with a BOM for Excel."""
    return _csv([template_headers(language), template_example()])


def template_xlsx(language: str = "en") -> bytes:
    """The import template as XLSX, with drop-down lists for Occupation and Main Contact."""
    return contacts_xlsx(template_columns(language), [template_example()])


def contacts_csv(headers: list[str], rows: Iterable[list[str]]) -> bytes:
    """Contacts in the import layout as CSV (the template's and the export's writer)."""
    return _csv([headers, *rows])


def contacts_xlsx(columns: list[tuple[str, str]], rows: Iterable[list[str]]) -> bytes:
    """Contacts in the import layout as XLSX: `columns` are (field, header) pairs and `rows` hold text.

    The header row is bold and frozen; Occupation and Main Contact have drop-down lists. Every cell
    is a text cell (never a formula), so the client sees the value and the importer reads it back
    unchanged (a phone `+33…` stays as written).
    """
    # Write-only: an export of 100,000 contacts streams instead of holding every cell object.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(TEMPLATE_SHEET)
    fields = [name for name, _header in columns]
    headers = [header for _name, header in columns]
    for index, header in enumerate(headers):
        sheet.column_dimensions[get_column_letter(index + 1)].width = max(14, len(header) + 4)
    sheet.freeze_panes = "A2"
    written = 0
    sheet.append([_text_cell(sheet, header, bold=True) for header in headers])
    for row in rows:
        sheet.append([_text_cell(sheet, value) for value in row])
        written += 1
    validated = max(VALIDATED_ROWS, 2 * written)
    for name, choices, prompt in (
        ("occupation", OCCUPATIONS, OCCUPATION_PROMPT.format(choices=", ".join(OCCUPATIONS))),
        ("is_main", MAIN_CONTACT_CHOICES, str(MAIN_CONTACT_PROMPT)),
    ):
        letter = get_column_letter(fields.index(name) + 1)
        header = headers[fields.index(name)]
        validation = DataValidation(
            type="list",
            formula1='"{}"'.format(",".join(choices)),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=header,
            error=prompt,
            showInputMessage=True,
            promptTitle=header,
            prompt=prompt,
        )
        validation.add(f"{letter}2:{letter}{validated + 1}")
        sheet.data_validations.append(validation)
    return _xlsx_bytes(workbook)


# (row number or None for the whole file, column header as written or None, message)
ReportProblem = tuple[int | None, str | None, str]
# Invalid cells as Excel paints them with its "Light red fill with dark red text".
INVALID_FILL = PatternFill("solid", fgColor="FFC7CE")
INVALID_FONT = Font(color="9C0006")
COMMENT_AUTHOR = "Import"
# Each comment is a drawing in the workbook: past this many the Error column alone says what is wrong.
COMMENTED_CELLS = 10_000


@dataclass
class ReportLine:
    cells: list[str]
    error: str  # the Error column: every problem of the row, labelled, one a line
    invalid: dict[int, str]  # column index -> the messages about that cell


def error_report_lines(
    table: Table | None, problems: Iterable[ReportProblem]
) -> tuple[list[str], list[ReportLine]]:
    """The report's header row and lines: each invalid row as read, plus an Error column.

    A problem with the whole file (row None) comes first, on a line of its own with blank cells. The
    labels ("Row 7, "Contact's Email": …") and the Error header are in the active language.
    """
    headers = list(table.headers) if table else []
    by_row: dict[int | None, list[ReportProblem]] = defaultdict(list)
    for problem in problems:
        by_row[problem[0]].append(problem)
    lines = []
    if None in by_row:
        lines.append(_line([""] * len(headers), headers, by_row[None]))
    if table is not None:
        for number, cells in table.rows:
            if number in by_row:
                lines.append(_line(cells, headers, by_row[number]))
    return [*headers, str(ERROR_COLUMN)], lines


def _line(cells: list[str], headers: list[str], problems: list[ReportProblem]) -> ReportLine:
    invalid: dict[int, str] = {}
    for _row, column, message in problems:
        if column in headers:
            index = headers.index(column)
            invalid[index] = f"{invalid[index]}\n{message}" if index in invalid else message
    error = "\n".join(problem_label(row, column, message) for row, column, message in problems)
    return ReportLine(cells=list(cells), error=error, invalid=invalid)


def error_report(
    table: Table | None,
    problems: Iterable[ReportProblem],
    *,
    format: str,
    shape: CsvShape | None = None,
) -> bytes:
    """The error report as CSV (in `shape`, by default UTF-8 with commas) or XLSX bytes."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}")
    headers, lines = error_report_lines(table, problems)
    if format == "csv":
        return _csv([headers, *([*line.cells, line.error] for line in lines)], shape or CsvShape())
    return _report_xlsx(headers, lines)


def _csv(lines: Iterable[list[str]], shape: CsvShape | None = None) -> bytes:
    shape = shape or CsvShape()
    rows = [[escape_cell(cell) for cell in line] for line in lines]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=shape.delimiter, lineterminator="\r\n").writerows(rows)
    text = buffer.getvalue()
    try:
        return text.encode(shape.encoding)
    except UnicodeEncodeError:  # a message or a cell Windows-1252 cannot write: the whole file in UTF-8
        return text.encode("utf-8-sig")


def _report_xlsx(headers: list[str], lines: list[ReportLine]) -> bytes:
    # Write-only: a report of 100,000 invalid rows streams instead of holding every cell object.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(REPORT_SHEET))
    sheet.freeze_panes = "A2"
    sheet.append([_text_cell(sheet, header, bold=True) for header in headers])
    commented = 0
    for line in lines:
        row = []
        for index, value in enumerate(line.cells):
            cell = _text_cell(sheet, value)
            message = line.invalid.get(index)
            if message is not None:
                cell.fill, cell.font = INVALID_FILL, INVALID_FONT
                if commented < COMMENTED_CELLS:
                    cell.comment = Comment(_excel_text(without_controls(message)), COMMENT_AUTHOR)
                    commented += 1
            row.append(cell)
        row.append(_text_cell(sheet, line.error))
        sheet.append(row)
    return _xlsx_bytes(workbook)


def _text_cell(sheet, value: object, *, bold: bool = False) -> WriteOnlyCell:
    """A cell written as text whatever it holds: never a formula, never a number."""
    text = _excel_text(without_controls(value))
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True  # Excel keeps it text when the cell is edited
    if bold:
        cell.font = Font(bold=True)
    return cell


# Excel refuses to open a workbook with a longer cell ("We found a problem with some content").
EXCEL_CELL_LIMIT = 32_767
CUT_MARK = _("… [cut: {length:,} characters]")


def _excel_text(text: str) -> str:
    if len(text) <= EXCEL_CELL_LIMIT:
        return text
    mark = CUT_MARK.format(length=len(text))
    return text[: EXCEL_CELL_LIMIT - len(mark)] + mark


def _xlsx_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def report_shape(source_format: str, data: bytes | None, headers: Iterable[str] | None) -> CsvShape:
    """The CSV shape of a report: the uploaded CSV's own; for a workbook, what the Excel of the headers'
    language opens as columns (French Excel splits a CSV on `;`)."""
    if source_format == "csv":
        return csv_shape(data)
    return CsvShape(delimiter=";" if header_language(headers) == "fr" else ",")


def import_error_report(report, data: bytes | None, *, format: str) -> bytes:
    """The error report of an ImportReport (a preview or a commit) in the shape of the uploaded `data`."""
    problems = [(problem.row, report.column(problem), problem.message) for problem in report.errors]
    headers = report.table.headers if report.table else None
    shape = report_shape(report.format, data, headers)
    return error_report(report.table, problems, format=format, shape=shape)
