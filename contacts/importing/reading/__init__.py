"""Bytes of an uploaded file → a table of trimmed cell texts.

The format is read from the content, never from the file name: a zip holding an Excel workbook is
.xlsx (or .ods for an OpenDocument spreadsheet), an OLE2 container is .xls, anything else that
decodes as text is a CSV. Excel formats are read with python-calamine, in a child process with a
memory cap, after the zip's declared sizes are checked (zip bombs). Every problem with the file as a
whole raises `FileRejected` with one line a support agent can forward to the client.

Decisions the issue left open:
- The header row is the first non-blank row; row numbers are the spreadsheet's (header = 1 when it
  is on the first row), so fully blank rows are dropped without shifting later numbers.
- CSV text is UTF-8 (with or without BOM) where it is valid and Windows-1252 byte by byte where it
  is not, so a UTF-8 file with a few cp1252 bytes pasted in (mixed encodings) reads correctly.
  UTF-16 with a BOM (Excel's "Unicode text") is read too. A file with NUL bytes is refused.
- Excel cells: integral numbers without ".0", dates as ISO text, booleans as "true"/"false",
  formulas as the value Excel last computed. Hidden sheets and chart sheets are skipped.

The parts: `detect` (the kind of file, its size, zip bombs), `text` (CSV), `workbook` (Excel and
OpenDocument, in the child process) and `table` (what both readers share). Callers import from here.
"""

from collections.abc import Callable

from django.conf import settings

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
    MISSING_COLUMNS,
    NO_ACCEPTED_HEADERS,
    NO_SHEET_WITH_COLUMNS,
    TOO_MANY_ROWS,
    FileRejected,
    Request,
    Table,
    collector_paused,
    one_line,
)
from contacts.importing.reading.text import NUL_BYTES, read_csv
from contacts.importing.reading.workbook import NUL_IN_CELLS, TOO_DEMANDING, read_workbook

__all__ = [
    "ABNORMAL_COMPRESSION",
    "DAMAGED",
    "EMPTY",
    "EXPANDS_TOO_MUCH",
    "MISSING_COLUMNS",
    "NOT_SPREADSHEET",
    "NO_ACCEPTED_HEADERS",
    "NO_SHEET_WITH_COLUMNS",
    "NUL_BYTES",
    "NUL_IN_CELLS",
    "PASSWORD_PROTECTED",
    "PDF",
    "TOO_BIG",
    "TOO_DEMANDING",
    "TOO_MANY_ROWS",
    "FileRejected",
    "Table",
    "collector_paused",
    "read_table",
]


def read_table(
    data: bytes,
    *,
    filename: str = "",
    accept_headers: Callable[[list[str]], bool] | None = None,
    max_rows: int | None = None,
) -> Table:
    """Read the first sheet (or the CSV) whose header row passes `accept_headers`.

    `accept_headers` defaults to "has the mandatory columns"; `max_rows` to CONTACT_IMPORT_MAX_ROWS.
    """
    request = Request(
        name=_display_name(filename),
        accept_headers=accept_headers,
        max_rows=settings.CONTACT_IMPORT_MAX_ROWS if max_rows is None else max_rows,
    )
    format = detect_format(data, name=request.name)
    if format == "csv":
        return read_csv(data, request)
    return read_workbook(data, format, request)


def _display_name(filename: str) -> str:
    """The file's base name, quoted, on one line, for messages; "The file" when there is none."""
    name = one_line(filename.replace("\\", "/").rsplit("/", 1)[-1])
    return f'"{name}"' if name else "The file"
