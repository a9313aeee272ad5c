"""Files the admin hands out: the import templates, contacts exported in the import layout, and the
error report of an import.

No cell written here can run as a formula when the file is opened in a spreadsheet (OWASP's
CSV-injection advice): CSV cells and error reports go through `escape_cell`, so a client's
`=HYPERLINK(…)` comes back as text; the contacts workbook types every cell as text instead, so that
an exported phone number `+33…` is read back as it was written.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from contacts.importing.reading import Table
from contacts.importing.resources import ContactSpreadsheetResource
from contacts.services.checks import OCCUPATIONS

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE}

ERROR_COLUMN = "Error"
TEMPLATE_SHEET = "Contacts"
REPORT_SHEET = "Errors"
# One row a client can overwrite: every column filled, values that pass the rules for a French
# organization (the phone without "+", so that escaping does not prefix it with an apostrophe).
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
OCCUPATION_PROMPT = "Leave blank, or choose " + ", ".join(OCCUPATIONS) + "."
MAIN_CONTACT_PROMPT = "1 for the customer's main contact, 0 (or blank) otherwise."

# A cell starting with one of these is read as a formula (or as the start of one) by spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def template_columns() -> list[tuple[str, str]]:
    """(field, English header) in the spreadsheet resource's order, which the templates follow."""
    resource = ContactSpreadsheetResource()
    return [(name, resource.fields[name].column_name) for name in resource.get_export_order()]


def template_headers() -> list[str]:
    return [header for _name, header in template_columns()]


def template_example() -> list[str]:
    return [TEMPLATE_EXAMPLE[name] for name, _header in template_columns()]


def template_csv() -> bytes:
    """The import template as CSV: the English headers and one example row, UTF-8 with a BOM for Excel."""
    return _csv([template_headers(), template_example()])


def template_xlsx() -> bytes:
    """The import template as XLSX, with drop-down lists for Occupation and Main Contact."""
    return contacts_xlsx(template_columns(), [template_example()])


def contacts_csv(headers: list[str], rows: Iterable[list[str]]) -> bytes:
    """Contacts in the import layout as CSV (the template's and the export's writer)."""
    return _csv([headers, *rows])


def contacts_xlsx(columns: list[tuple[str, str]], rows: Iterable[list[str]]) -> bytes:
    """Contacts in the import layout as XLSX: `columns` are (field, header) pairs and `rows` hold text.

    The header row is bold and frozen; Occupation and Main Contact have drop-down lists. Every cell
    is text, and a formula-like one is marked as such (quote prefix) instead of prefixed with an
    apostrophe, so that the client sees the value and the importer reads it back unchanged.
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
    sheet.append([_xlsx_cell(sheet, header, bold=True) for header in headers])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        written += 1
    validated = max(VALIDATED_ROWS, 2 * written)
    for name, choices, prompt in (
        ("occupation", OCCUPATIONS, OCCUPATION_PROMPT),
        ("is_main", MAIN_CONTACT_CHOICES, MAIN_CONTACT_PROMPT),
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


def _xlsx_cell(sheet, value: object, *, bold: bool = False):
    text = ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))
    if not bold and not text.startswith(FORMULA_STARTS):
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl would make a formula of "=…"
    if bold:
        cell.font = Font(bold=True)
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def error_report_rows(
    table: Table | None, problems: Iterable[tuple[int | None, str]]
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of an error report: each invalid row as read, plus an Error column.

    `problems` are (row number, message) pairs, several per row possibly; a row number of None is a
    problem with the whole file, listed first on a line of its own (with blank cells).
    """
    by_row: dict[int | None, list[str]] = defaultdict(list)
    for row, message in problems:
        by_row[row].append(message)
    headers = [*(table.headers if table else []), ERROR_COLUMN]
    blank = [""] * (len(headers) - 1)
    lines = []
    if None in by_row:
        lines.append([*blank, "\n".join(by_row[None])])
    if table is not None:
        for number, cells in table.rows:
            messages = by_row.get(number)
            if messages:
                lines.append([*cells, "\n".join(messages)])
    return headers, lines


def error_report(table: Table | None, problems: Iterable[tuple[int | None, str]], *, format: str) -> bytes:
    """The error report as CSV or XLSX bytes."""
    headers, lines = error_report_rows(table, problems)
    if format == "csv":
        return _csv([headers, *lines])
    if format == "xlsx":
        return _report_xlsx(headers, lines)
    raise ValueError(f"unknown export format {format!r}")


def _csv(lines: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    # The BOM makes Excel read the file as UTF-8 (accents in names) instead of the local code page.
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([escape_cell(cell) for cell in line] for line in lines)
    return buffer.getvalue().encode("utf-8")


def _report_xlsx(headers: list[str], lines: list[list[str]]) -> bytes:
    # Write-only: a report of 100,000 invalid rows streams instead of holding every cell object.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(REPORT_SHEET)
    sheet.freeze_panes = "A2"
    for line in (headers, *lines):
        # XML cannot hold most control characters; a CSV may carry a few (the reader lets a handful pass).
        sheet.append([_excel_text(ILLEGAL_CHARACTERS_RE.sub("", escape_cell(cell))) for cell in line])
    return _xlsx_bytes(workbook)


# Excel refuses to open a workbook with a longer cell ("We found a problem with some content").
EXCEL_CELL_LIMIT = 32_767
CUT_MARK = "… [cut: {length:,} characters]"


def _excel_text(text: str) -> str:
    if len(text) <= EXCEL_CELL_LIMIT:
        return text
    mark = CUT_MARK.format(length=len(text))
    return text[: EXCEL_CELL_LIMIT - len(mark)] + mark


def _xlsx_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
