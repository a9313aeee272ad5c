"""Bytes of an uploaded file → a table of trimmed cell texts.

The format is read from the content, never from the file name: a zip holding an Excel workbook is
.xlsx (or .ods for an OpenDocument spreadsheet), an OLE2 container is .xls, anything else that
decodes as text is a CSV. Excel formats are read with python-calamine, in a child process with a
memory cap, after the zip's declared sizes are checked (zip bombs). Every problem with the file as a
whole raises `FileRejected` with one line a support agent can forward to the client.

Decisions the issue left open:
- The header row is found among the first 20 rows (table.choose_header); row numbers are the
  spreadsheet's (header = 1 when it is on the first row), so fully blank rows are dropped without
  shifting later numbers. A header row wider than CONTACT_IMPORT_MAX_COLUMNS refuses the file before
  any data row is built, and rows are padded only to the last column giving a field (memory bombs).
- A workbook's data sheet is the first visible worksheet whose header row has the mandatory columns,
  else the one whose header row names the most columns (the pipeline then asks for a mapping).
- The last rows holding only a total or a count ("TOTAL : 14 contacts", a formula's result) are the
  table's footer, not data.
- CSV text is UTF-8 (with or without BOM) where it is valid and Windows-1252 byte by byte where it
  is not, so a UTF-8 file with a few cp1252 bytes pasted in (mixed encodings) reads correctly.
  UTF-16 with a BOM (Excel's "Unicode text") is read too. A file with NUL bytes is refused.
- Excel cells: integral numbers without ".0", dates as ISO text, booleans as "true"/"false",
  formulas as the value Excel last computed. Hidden sheets and chart sheets are skipped.

The parts: `detect` (the kind of file, its size, zip bombs), `text` (CSV), `workbook` (Excel and
OpenDocument, in the child process) and `table` (what both readers share). Callers import from here.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contacts.importing.reading.detect import (
    ABNORMAL_COMPRESSION,
    DAMAGED,
    EXPANDS_TOO_MUCH,
    NOT_SPREADSHEET,
    PASSWORD_PROTECTED,
    PDF,
    TOO_BIG,
    detect_format,
)
from contacts.importing.reading.table import (
    EMPTY,
    HEADER_SEARCH_ROWS,
    NO_HEADER_ROW,
    NO_SHEET_WITH_HEADERS,
    TOO_MANY_COLUMNS,
    TOO_MANY_ROWS,
    FileRejected,
    Layout,
    Request,
    Rows,
    Table,
    collector_paused,
    one_line,
    quoted_list,
    split_footer,
)
from contacts.importing.reading.text import NUL_BYTES, read_csv
from contacts.importing.reading.workbook import (
    NO_SUCH_SHEET,
    NUL_IN_CELLS,
    TOO_DEMANDING,
    TOO_WIDE,
    read_workbook,
)

__all__ = [
    "ABNORMAL_COMPRESSION",
    "DAMAGED",
    "EMPTY",
    "EXPANDS_TOO_MUCH",
    "HEADER_SEARCH_ROWS",
    "NOT_SPREADSHEET",
    "NO_HEADER_ROW",
    "NO_SHEET_WITH_HEADERS",
    "NO_SUCH_SHEET",
    "NUL_BYTES",
    "NUL_IN_CELLS",
    "PASSWORD_PROTECTED",
    "PDF",
    "TOO_BIG",
    "TOO_DEMANDING",
    "TOO_MANY_COLUMNS",
    "TOO_MANY_ROWS",
    "TOO_WIDE",
    "FileRejected",
    "Layout",
    "Table",
    "collector_paused",
    "one_line",
    "quoted_list",
    "read_table",
]


def read_table(
    data: bytes, *, filename: str = "", layout: Layout | None = None, max_rows: int | None = None
) -> Table:
    """The table of the CSV, or of the workbook's data sheet, with its footer set apart.

    `layout` (a person's choices) defaults to none: header detection; `max_rows` to CONTACT_IMPORT_MAX_ROWS.
    """
    request = Request(
        name=_display_name(filename),
        layout=layout or Layout(),
        max_rows=settings.CONTACT_IMPORT_MAX_ROWS if max_rows is None else max_rows,
        max_columns=settings.CONTACT_IMPORT_MAX_COLUMNS,
    )
    format = detect_format(data, name=request.name)
    table = read_csv(data, request) if format == "csv" else read_workbook(data, format, request)
    rows, table.footer = split_footer(table.rows, table.columns)
    table.rows = Rows(rows, len(table.headers))
    return table


UNNAMED_FILE = _("The file")


def _display_name(filename: str) -> str:
    """The file's base name, quoted, on one line, for messages; "The file" when there is none."""
    name = one_line(filename.replace("\\", "/").rsplit("/", 1)[-1])
    return f'"{name}"' if name else str(UNNAMED_FILE)
