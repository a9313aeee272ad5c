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
"""

import codecs
import contextlib
import csv
import datetime
import gc
import io
import itertools
import marshal
import math
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import python_calamine
from django.conf import settings

from contacts.importing.columns import has_mandatory_columns, map_columns

try:
    import resource
except ImportError:  # not on Windows; the child then runs without a memory cap
    resource = None

EMPTY = "The file is empty."
NOT_SPREADSHEET = "{name} is not a CSV or Excel file; save it as .csv, .xlsx or .xls and send it again."
PDF = "This is a PDF, not a spreadsheet; export the data as CSV or Excel (.xlsx) and send that file."
PASSWORD_PROTECTED = (
    "This Excel file is password-protected; remove the password (File > Info > Protect Workbook) "
    "and send it again."
)
DAMAGED = "{name} looks like an Excel file but cannot be read; open it in Excel, save it again and resend it."
NUL_BYTES = (
    "The file contains NUL bytes, so it is not a plain-text CSV; open it in Excel and save it as "
    "CSV UTF-8 or as an Excel workbook (.xlsx)."
)
NUL_IN_CELLS = (
    '{where} of sheet "{sheet}" holds a NUL character (invisible in Excel), which cannot be stored; '
    "type that row's cells again and send the file again."
)
TOO_BIG = "The file is larger than the {limit} MB limit; split it into smaller files."
TOO_MANY_ROWS = "The file has more than {limit:,} data rows, the limit; split it into smaller files."
EXPANDS_TOO_MUCH = (
    "The spreadsheet would expand to more than {limit} MB once opened, so it is refused as unsafe; "
    "split it into smaller files."
)
ABNORMAL_COMPRESSION = (
    "The spreadsheet is compressed abnormally (a part expands over {ratio} times), so it is refused "
    "as unsafe; open it in Excel and save it again."
)
MISSING_COLUMNS = (
    "The header row lacks the mandatory column(s) {columns}; the first row must hold the column "
    "headers of the import template."
)
NO_SHEET_WITH_COLUMNS = (
    'No sheet has the mandatory columns in its first row; the first sheet, "{sheet}", lacks {columns}.'
)
NO_ACCEPTED_HEADERS = "No sheet has the expected column headers in its first row."
TOO_DEMANDING = (
    "{name} needs too much memory or time to read (a stray cell far below or right of the data, or a "
    "damaged file); delete the empty rows and columns after the data in Excel and send it again."
)

# A zip member inflating more than this many times is a zip bomb, not a spreadsheet; members smaller
# than MIN_BOMB_MEMBER are not judged (tiny parts compress oddly).
MAX_COMPRESSION_RATIO = 200
MIN_BOMB_MEMBER = 1024 * 1024
# The parts of a workbook may expand to this many times the upload limit in total (200 MB by default).
MAX_EXPANSION = 10
# Limits of the child process that parses Excel files: address space, and seconds.
WORKBOOK_MEMORY = 2 * 1024 * 1024 * 1024
WORKBOOK_TIMEOUT = 120
# Above this share of control characters, text is binary data that happened to decode.
MAX_CONTROL_SHARE = 0.01

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")
_MB = 1024 * 1024
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
# Every multi-byte UTF-8 character starts so; Windows-1252 text seldom has these pairs.
_UTF8_LEAD_AND_CONTINUATION = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")


class FileRejected(Exception):
    """A problem with the file as a whole; str(error) is one line a support agent can read."""


@dataclass
class Table:
    format: str  # "csv" | "xlsx" | "xls" | "ods"
    headers: list[str]  # header row as written (trimmed), without trailing blank headers
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, trimmed cell texts), len(headers) cells each
    sheet_name: str | None


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
    limit = settings.CONTACT_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise FileRejected(TOO_BIG.format(limit=_megabytes(limit)))
    if not data.strip():
        raise FileRejected(EMPTY)
    reader = _Reader(
        name=_display_name(filename),
        accept_headers=accept_headers,
        max_rows=settings.CONTACT_IMPORT_MAX_ROWS if max_rows is None else max_rows,
    )
    format = _detect_format(data, reader.name)
    if format == "csv":
        return reader.read_csv(data)
    return reader.read_workbook(data, format)


def _detect_format(data: bytes, name: str) -> str:
    if data.startswith(_ZIP_MAGIC):
        return _zip_format(data, name)
    if data.startswith(_OLE2_MAGIC):
        # A password-protected .xlsx is an OLE2 container holding the encrypted zip in this stream.
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise FileRejected(PASSWORD_PROTECTED)
        if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
            return "xls"
        raise FileRejected(NOT_SPREADSHEET.format(name=name))  # a Word or PowerPoint 97 file
    if data.lstrip().startswith(b"%PDF-"):
        raise FileRejected(PDF)
    return "csv"


def _zip_format(data: bytes, name: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if "mimetype" in names:
                mimetype = archive.read("mimetype") if archive.getinfo("mimetype").file_size < 200 else b""
            else:
                mimetype = b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError):
        raise FileRejected(DAMAGED.format(name=name)) from None
    if mimetype.strip() == _ODS_MIMETYPE:
        format = "ods"
    elif "xl/workbook.xml" in names:
        format = "xlsx"
    else:
        raise FileRejected(NOT_SPREADSHEET.format(name=name))  # a .docx, a plain zip...
    # The parser must never see a zip bomb: judge the sizes the archive declares before inflating.
    limit = MAX_EXPANSION * settings.CONTACT_IMPORT_MAX_BYTES
    if sum(member.file_size for member in members) > limit:
        raise FileRejected(EXPANDS_TOO_MUCH.format(limit=_megabytes(limit)))
    for member in members:
        if member.file_size > MIN_BOMB_MEMBER and member.file_size > MAX_COMPRESSION_RATIO * max(
            member.compress_size, 1
        ):
            raise FileRejected(ABNORMAL_COMPRESSION.format(ratio=MAX_COMPRESSION_RATIO))
    return format


@dataclass
class _Reader:
    name: str
    accept_headers: Callable[[list[str]], bool] | None
    max_rows: int

    def read_csv(self, data: bytes) -> Table:
        text = _decode(data, self.name)
        if "\x00" in text:
            raise FileRejected(NUL_BYTES)
        sample = text[:65536]
        if len(_CONTROL.findall(sample)) > MAX_CONTROL_SHARE * len(sample):
            raise FileRejected(NOT_SPREADSHEET.format(name=self.name))
        # A 1 MB cell is legitimate; the size limit already bounds every field.
        csv.field_size_limit(max(csv.field_size_limit(), settings.CONTACT_IMPORT_MAX_BYTES + 1))
        reader = csv.reader(_lines(text), delimiter=_sniff_delimiter(text), quotechar='"')
        records = enumerate(reader, start=1)
        try:
            headers = _find_headers(records, _trimmed)
            if headers is None:
                raise FileRejected(EMPTY)
            if not self._accepts(headers):
                raise FileRejected(self._refusal(headers, sheet=None))
            rows = _data_rows(records, headers, _trimmed, limit=self.max_rows)
        except csv.Error:
            raise FileRejected(NOT_SPREADSHEET.format(name=self.name)) from None
        if len(rows) > self.max_rows:
            raise FileRejected(TOO_MANY_ROWS.format(limit=self.max_rows))
        return Table(format="csv", headers=headers, rows=rows, sheet_name=None)

    def read_workbook(self, data: bytes, format: str) -> Table:
        first: _Sheet | None = None
        for sheet in _parse_workbook(data, name=self.name, max_rows=self.max_rows):
            if self._accepts(sheet.headers):
                if len(sheet.rows) > self.max_rows:
                    raise FileRejected(TOO_MANY_ROWS.format(limit=self.max_rows))
                where = _where_nul(sheet)
                if where:
                    raise FileRejected(NUL_IN_CELLS.format(where=where, sheet=_one_line(sheet.name)))
                return Table(format=format, headers=sheet.headers, rows=sheet.rows, sheet_name=sheet.name)
            first = first or sheet
        if first is None:
            raise FileRejected(EMPTY)
        raise FileRejected(self._refusal(first.headers, sheet=first.name))

    def _accepts(self, headers: list[str]) -> bool:
        accept = self.accept_headers or has_mandatory_columns
        return bool(accept(headers))

    def _refusal(self, headers: list[str], *, sheet: str | None) -> str:
        if self.accept_headers is not None:
            return NO_ACCEPTED_HEADERS
        columns = ", ".join(f'"{header}"' for header in map_columns(headers).missing)
        if sheet is None:
            return MISSING_COLUMNS.format(columns=columns)
        return NO_SHEET_WITH_COLUMNS.format(sheet=_one_line(sheet), columns=columns)


def _data_rows(
    records: Iterator[tuple[int, list]], headers: list[str], texts: Callable[[list], list[str]], *, limit: int
) -> list[tuple[int, list[str]]]:
    """The non-blank rows after the header, cut or padded to its width; stops at `limit` + 1 rows."""
    width = len(headers)
    padding = [""] * width
    rows: list[tuple[int, list[str]]] = []
    with collector_paused():
        for number, cells in records:
            values = texts(cells[:width])
            if not any(values):
                continue
            if len(values) < width:
                values.extend(padding[len(values) :])
            rows.append((number, values))
            if len(rows) > limit:
                break
    return rows


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file's rows are built or held (they hold no cycles).

    Its runs, triggered by every 700 new containers, would walk a 100,000-row file's million small
    objects again and again and find nothing: two thirds of the time of reading it, a third of a preview's.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Sheet:
    name: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # at most max_rows + 1


def _where_nul(sheet: _Sheet) -> str:
    """Where the sheet holds a NUL character ("The header row", "Row 7"), or "": PostgreSQL cannot store it.

    Excel writes it as the escape _x0000_, which calamine decodes (a CSV with NUL bytes is refused whole).
    """
    if "\x00" in "".join(sheet.headers):
        return "The header row"
    if "\x00" not in "".join(itertools.chain.from_iterable(cells for _number, cells in sheet.rows)):
        return ""
    return next(f"Row {number}" for number, cells in sheet.rows if "\x00" in "".join(cells))


def _parse_workbook(data: bytes, *, name: str, max_rows: int) -> list[_Sheet]:
    """The visible worksheets that have a header row, parsed by calamine in a child process.

    A hostile file can make calamine abort the whole process, which no `except` catches: a single
    stray cell at XFD1048576 makes it allocate a dense range of 17 billion cells. The child has a
    memory cap and a time limit; when it dies, only the file is refused.
    """
    code = (
        f"import sys; sys.path.insert(0, {str(_PROJECT_ROOT)!r}); "
        "from contacts.importing.reading import _workbook_child; _workbook_child()"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", code],
            input=marshal.dumps((max_rows, data)),
            capture_output=True,
            timeout=WORKBOOK_TIMEOUT,
            check=False,
        )
        with collector_paused():
            outcome = marshal.loads(done.stdout) if done.returncode == 0 else ("demanding",)
    except (subprocess.TimeoutExpired, EOFError, ValueError, TypeError):
        outcome = ("demanding",)
    if outcome[0] == "password":
        raise FileRejected(PASSWORD_PROTECTED)
    if outcome[0] == "damaged":
        raise FileRejected(DAMAGED.format(name=name))
    if outcome[0] != "sheets":
        raise FileRejected(TOO_DEMANDING.format(name=name))
    return [_Sheet(name=sheet_name, headers=headers, rows=rows) for sheet_name, headers, rows in outcome[1]]


def _workbook_child() -> None:
    """Entry point of the child process of `_parse_workbook`: marshal in on stdin, marshal out on stdout."""
    if resource is not None:
        resource.setrlimit(resource.RLIMIT_AS, (WORKBOOK_MEMORY, WORKBOOK_MEMORY))
    max_rows, data = marshal.loads(sys.stdin.buffer.read())
    try:
        outcome: tuple = ("sheets", _workbook_sheets(data, max_rows=max_rows))
    except python_calamine.PasswordError:
        outcome = ("password",)
    except MemoryError:
        outcome = ("demanding",)
    except BaseException:  # calamine's errors, and the panics of its Rust code (not Exceptions)
        outcome = ("damaged",)
    sys.stdout.buffer.write(marshal.dumps(outcome))


def _workbook_sheets(
    data: bytes, *, max_rows: int
) -> list[tuple[str, list[str], list[tuple[int, list[str]]]]]:
    sheets = []
    with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
        for index, info in enumerate(workbook.sheets_metadata):
            if (
                info.typ != python_calamine.SheetTypeEnum.WorkSheet
                or info.visible != python_calamine.SheetVisibleEnum.Visible
            ):
                continue
            sheet = workbook.get_sheet_by_index(index)
            # iter_rows() starts at the sheet's first row (index 0 = row 1) even when the data starts
            # lower; its columns start at the first one used.
            records = enumerate(sheet.iter_rows(), start=1)
            headers = _find_headers(records, _cell_texts)
            if headers is not None:
                sheets.append(
                    (sheet.name, headers, _data_rows(records, headers, _cell_texts, limit=max_rows))
                )
    return sheets


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` with their endings (CRLF, LF or CR), without copying it whole like StringIO."""
    for match in _LINE.finditer(text):
        if match.group():
            yield match.group()


def _find_headers(
    records: Iterator[tuple[int, list]], texts: Callable[[list], list[str]]
) -> list[str] | None:
    """The first non-blank row, without trailing blank cells; `records` then stands after it."""
    for _number, cells in records:
        headers = texts(cells)
        while headers and not headers[-1]:
            headers.pop()
        if headers:
            return headers
    return None


def _decode(data: bytes, name: str) -> str:
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        if not _UTF8_LEAD_AND_CONTINUATION.search(data):
            return data.decode("cp1252")  # a file from French Excel: no UTF-8 at all, decoded at C speed
        return data.decode("utf-8", errors=_CP1252_FALLBACK)  # mixed: byte by byte where not UTF-8
    except UnicodeDecodeError:
        # Bytes that are neither UTF-8 nor Windows-1252 (it leaves five values undefined): binary data.
        raise FileRejected(NOT_SPREADSHEET.format(name=name)) from None


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Decode the bytes that are not UTF-8 as Windows-1252 (raises on bytes it leaves undefined)."""
    return error.object[error.start : error.end].decode("cp1252"), error.end


_CP1252_FALLBACK = "contacts_import_cp1252_fallback"
codecs.register_error(_CP1252_FALLBACK, _cp1252_fallback)


def _sniff_delimiter(text: str) -> str:
    """`,`, `;` or tab: the one the header line uses most, outside quotes; the Sniffer breaks ties."""
    counts = dict.fromkeys(",;\t", 0)
    quoted = False
    for char in text.lstrip("\r\n")[:65536]:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "\r\n":
            break
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts.values())
    candidates = [delimiter for delimiter, count in counts.items() if count == best]
    if best == 0:
        return ","
    if len(candidates) == 1:
        return candidates[0]
    try:
        return csv.Sniffer().sniff(text[:16384], delimiters="".join(candidates)).delimiter
    except csv.Error:
        return candidates[0]


def _trimmed(cells: list[str]) -> list[str]:
    return [cell.strip() for cell in cells]


def _cell_texts(cells: list) -> list[str]:
    return [cell.strip() if type(cell) is str else _cell_text(cell) for cell in cells]


def _cell_text(value: object) -> str:
    """An Excel cell as the text the user sees: 1005 (not 1005.0), ISO dates, true/false."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if value is None:
        return ""
    return str(value).strip()


def _megabytes(size: int) -> str:
    return f"{size / _MB:g}"


def _one_line(text: str, limit: int = 80) -> str:
    """A name from the file (a sheet's) for a message: without line breaks or control characters."""
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]", "", text).strip()
    return text[: limit - 3] + "..." if len(text) > limit else text


def _display_name(filename: str) -> str:
    """The file's base name, quoted, on one line, for messages; "The file" when there is none."""
    name = _one_line(filename.replace("\\", "/").rsplit("/", 1)[-1])
    return f'"{name}"' if name else "The file"
