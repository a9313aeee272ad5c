"""Excel and OpenDocument workbooks → a Table, parsed by python-calamine in a memory- and time-capped child.

A hostile file can make calamine abort the whole process, which no `except` catches: a single stray cell
at XFD1048576 makes it allocate a dense range of 17 billion cells. The child has a memory cap and a time
limit; when it dies, only the file is refused.

The child chooses the data sheet: the first visible worksheet whose header row (table.choose_header) has
every mandatory column; failing that, the sheet whose header row names the most columns, for the mapping
step. Only that sheet's rows are read and sent back, with the cells Excel typed as dates.
"""

import datetime
import io
import itertools
import marshal
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import python_calamine
from django.utils.translation import gettext_lazy as _

from contacts.importing.reading.detect import DAMAGED, PASSWORD_PROTECTED
from contacts.importing.reading.sheet_xml import column_beyond, sheet_marks
from contacts.importing.reading.table import (
    EMPTY,
    HEADER_SEARCH_ROWS,
    NO_SHEET_WITH_HEADERS,
    FileRejected,
    Header,
    Layout,
    Request,
    Table,
    check_width,
    choose_header,
    collector_paused,
    data_rows,
    one_line,
    quoted_list,
    scan_top,
)

try:
    import resource
except ImportError:  # not on Windows; the child then runs without a memory cap
    resource = None

NO_SUCH_SHEET = _('The file has no sheet named "{sheet}"; its sheets are {sheets}.')
NUL_IN_HEADER_ROW = _("The header row")
NUL_IN_ROW = _("Row {row}")
NUL_IN_CELLS = _(
    '{where} of sheet "{sheet}" holds a NUL character (invisible in Excel), which cannot be stored; '
    "type that row's cells again and send the file again."
)
TOO_DEMANDING = _(
    "{name} needs too much memory or time to read (a stray cell far below or right of the data, or a "
    "damaged file); delete the empty rows and columns after the data in Excel and send it again."
)

TOO_WIDE = _(
    "{name} has cells as far right as column {column}, more than {limit} columns: an import reads at most "
    "{limit} columns. Delete the columns to the right of the data in Excel and send the file again."
)

# Limits of the child process that parses Excel files: address space, and seconds.
WORKBOOK_MEMORY = 2 * 1024 * 1024 * 1024
WORKBOOK_TIMEOUT = 120
# Its address space is also held to a base plus a multiple of the workbook's expanded size: a 100,000-row
# workbook (5 MB, 52 MB expanded) peaks at 173 MB, while a 64 KB one with a cell at XFD1 and 3,000 rows
# would have calamine allocate a dense range of 49 million cells (1.5 GB, 4 s): refused at once instead.
WORKBOOK_BASE_MEMORY = 256 * 1024 * 1024
WORKBOOK_MEMORY_FACTOR = 16
DATE_TYPES = (datetime.date, datetime.time)  # datetime.datetime is a date

_PROJECT_ROOT = Path(__file__).resolve().parents[3]
# The child imports this module by its dotted path; isolated (-I), it has no project on sys.path until this.
_CHILD_CODE = (
    f"import sys; sys.path.insert(0, {str(_PROJECT_ROOT)!r}); "
    "from contacts.importing.reading.workbook import _workbook_child; _workbook_child()"
)


def read_workbook(data: bytes, format: str, request: Request) -> Table:
    """The data sheet's table (see the module's docstring); `FileRejected` when there is none."""
    outcome = _parse_workbook(data, format, request)
    if outcome[0] == "no_sheet":
        sheet, names = request.layout.sheet or "", outcome[1]
        raise FileRejected(NO_SUCH_SHEET.format(sheet=one_line(sheet), sheets=quoted_list(names)))
    if outcome[0] == "no_header":
        looked, any_cells = outcome[1], outcome[2]
        if not any_cells:
            raise FileRejected(EMPTY)
        raise FileRejected(NO_SHEET_WITH_HEADERS.format(rows=HEADER_SEARCH_ROWS, sheets=quoted_list(looked)))
    found = outcome[1]
    header = Header(found["header_row"], found["headers"], found["width"], found["names"])
    check_width(header, request.max_columns)
    request.check_row_count(found["rows"])
    where = _where_nul(header.headers, found["rows"])
    if where:
        raise FileRejected(NUL_IN_CELLS.format(where=where, sheet=one_line(found["sheet"])))
    return Table(
        format=format,
        headers=header.headers,
        rows=found["rows"],
        sheet_name=found["sheet"],
        header_row=header.row,
        columns=header.columns(request.layout),
        top_rows=found["top"],
        sheet_names=found["sheets"],
        skipped_sheets=found["skipped"],
        unread_sheets=found["unread"],
        dates=found["dates"],
        hidden_rows=found["hidden"],
        hidden_sheets=found["hidden_sheets"],
        beyond=found["beyond"],
    )


def _where_nul(headers: list[str], rows: list[tuple[int, list[str]]]) -> str:
    """Where the sheet holds a NUL character ("The header row", "Row 7"), or "": PostgreSQL cannot store it.

    Excel writes it as the escape _x0000_, which calamine decodes (a CSV with NUL bytes is refused whole).
    """
    if "\x00" in "".join(headers):
        return str(NUL_IN_HEADER_ROW)
    if "\x00" not in "".join(itertools.chain.from_iterable(cells for _number, cells in rows)):
        return ""
    return next(NUL_IN_ROW.format(row=number) for number, cells in rows if "\x00" in "".join(cells))


def _parse_workbook(data: bytes, format: str, request: Request) -> tuple:
    """The child's outcome: ("table", found), ("no_header", looked, any_cells) or ("no_sheet", names)."""
    arguments = (
        _memory_budget(data, format),
        request.max_rows,
        request.max_columns,
        request.layout.marshalled(),
        format,
    )
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD_CODE],
            input=marshal.dumps((*arguments, data)),
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
        raise FileRejected(DAMAGED.format(name=request.name))
    if outcome[0] not in ("table", "no_header", "no_sheet"):
        beyond = column_beyond(data, request.max_columns) if format == "xlsx" else ""
        if beyond:
            # What made it demanding, in the person's words: the column cap, and the column to delete.
            limit = request.max_columns
            raise FileRejected(TOO_WIDE.format(name=request.name, column=beyond, limit=limit))
        raise FileRejected(TOO_DEMANDING.format(name=request.name))
    return outcome


def _memory_budget(data: bytes, format: str) -> int:
    """The child's address space: see WORKBOOK_BASE_MEMORY."""
    expanded = len(data)
    if format in ("xlsx", "ods"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                expanded = sum(member.file_size for member in archive.infolist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
            pass  # calamine will say it is damaged
    return min(WORKBOOK_MEMORY, WORKBOOK_BASE_MEMORY + WORKBOOK_MEMORY_FACTOR * expanded)


def _workbook_child() -> None:
    """Entry point of the child process of `_parse_workbook`: marshal in on stdin, marshal out on stdout."""
    budget, max_rows, max_columns, layout, format, data = marshal.loads(sys.stdin.buffer.read())
    if resource is not None:
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    request = Request(name="", layout=Layout(*layout), max_rows=max_rows, max_columns=max_columns)
    try:
        outcome = _workbook_table(data, format, request)
    except python_calamine.PasswordError:
        outcome = ("password",)
    except MemoryError:
        outcome = ("demanding",)
    except BaseException:  # calamine's errors, and the panics of its Rust code (not Exceptions)
        outcome = ("damaged",)
    sys.stdout.buffer.write(marshal.dumps(outcome))


def _workbook_table(data: bytes, format: str, request: Request) -> tuple:
    with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
        sheets = [
            (index, info.name)
            for index, info in enumerate(workbook.sheets_metadata)
            if info.typ == python_calamine.SheetTypeEnum.WorkSheet
            and info.visible == python_calamine.SheetVisibleEnum.Visible
        ]
        names = [name for _index, name in sheets]
        hidden = [
            info.name
            for info in workbook.sheets_metadata
            if info.typ == python_calamine.SheetTypeEnum.WorkSheet
            and info.visible != python_calamine.SheetVisibleEnum.Visible
        ]
        if request.layout.sheet is not None:
            sheets = [(index, name) for index, name in sheets if name == request.layout.sheet]
            if not sheets:
                return ("no_sheet", names)
        looked: list[str] = []
        best: tuple[int, int, str] | None = None  # (names, index, sheet) of the best header row so far
        any_cells = False
        for position, (index, name) in enumerate(sheets):
            sheet = _SheetReader(workbook, index, name, request)
            looked.append(name)
            any_cells = any_cells or sheet.has_cells
            header = sheet.header
            if header is not None and (sheet.complete or header.width > request.max_columns):
                unread = [later for _index, later in sheets[position + 1 :]]
                found = sheet.found(names, skipped=looked[:-1], unread=unread)
                return ("table", {**_with_sheet_marks(found, data, format), "hidden_sheets": hidden})
            if header is not None and (best is None or header.names > best[0]):
                best = (header.names, index, name)
        if best is None:
            return ("no_header", looked, any_cells)
        _names, index, name = best
        # Read again: rows are read only from a sheet once it is chosen.
        sheet = _SheetReader(workbook, index, name, request)
        found = sheet.found(names, skipped=[other for other in looked if other != name], unread=[])
        return ("table", {**_with_sheet_marks(found, data, format), "hidden_sheets": hidden})


def _with_sheet_marks(found: dict, data: bytes, format: str) -> dict:
    """The found sheet with its error cells' texts ("#N/A", which calamine reads as blank) and its hidden
    data rows, read from an .xlsx's XML (sheet_xml); other formats are left as calamine reads them."""
    found["hidden"] = []
    if format != "xlsx":
        return found
    marks = sheet_marks(data, found["sheet"])
    if marks.errors:
        held = {number: cells for number, cells in found["rows"]}
        for (number, column), text in marks.errors.items():
            cells = held.get(number)
            if cells is not None and column < len(cells):
                cells[column] = text
    if marks.hidden_rows:
        numbers = {number for number, _cells in found["rows"]}
        found["hidden"] = [number for number in marks.hidden_rows if number in numbers]
    return found


class _SheetReader:
    """One worksheet: its first rows and header row on creation, its data rows when `found` is asked."""

    def __init__(self, workbook, index: int, name: str, request: Request) -> None:
        self.name, self.request = name, request
        self.texts = _CellTexts()
        # iter_rows() starts at the sheet's first row (index 0 = row 1) even when the data starts
        # lower; its columns start at the first one used.
        calamine_sheet = workbook.get_sheet_by_index(index)
        self.records = enumerate(calamine_sheet.iter_rows(), start=1)
        # iter_rows' columns start at the sheet's first used column: its rows are padded to start at A, so
        # that an index is the column's (messages name columns by their letters).
        start_column = (calamine_sheet.start or (0, 0))[1]
        if start_column:
            padding = [""] * start_column
            self.records = ((number, [*padding, *cells]) for number, cells in self.records)
        self.top = scan_top(self.records, self.texts, request.max_columns)
        self.has_cells = any(row.width for row in self.top)
        self.header = choose_header(self.top, request.layout)
        self.columns = self.header.columns(request.layout) if self.header else None
        self.complete = self.columns is not None and not self.columns.missing

    def found(self, names: list[str], *, skipped: list[str], unread: list[str]) -> dict:
        header = self.header
        rows, beyond = [], {}
        if header.width <= self.request.max_columns:
            rows, beyond = data_rows(
                self.top, self.records, header, self.columns, self.texts, limit=self.request.max_rows
            )
        return {
            "sheet": self.name,
            "header_row": header.row,
            "headers": header.headers,
            "width": header.width,
            "names": header.names,
            "rows": rows,
            "beyond": beyond,
            "top": [(row.number, row.values[: row.width]) for row in self.top if row.width],
            "dates": self.texts.dates,
            "sheets": names,
            "skipped": skipped,
            "unread": unread,
        }


class _CellTexts:
    """A sheet's cells as the texts the user sees, noting the cells Excel typed as dates: row -> columns.

    (The checks refuse a date where text was meant: an identifier "03-12" that Excel stored as 3 December.)
    """

    def __init__(self) -> None:
        self.dates: dict[int, tuple[int, ...]] = {}
        self._dated = False

    def __call__(self, number: int, cells: list) -> list[str]:
        # Most cells are text: testing for it first skips _text's chain of checks (100,000 rows of nine
        # cells: 0.14 s instead of 0.16 s).
        texts = [cell.strip() if type(cell) is str else self._text(cell) for cell in cells]
        if self._dated:
            self._dated = False
            self.dates[number] = tuple(i for i, cell in enumerate(cells) if isinstance(cell, DATE_TYPES))
        return texts

    def _text(self, value: object) -> str:
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
        if isinstance(value, DATE_TYPES):
            self._dated = True
            if isinstance(value, datetime.datetime):
                if value.time() == datetime.time():
                    return value.date().isoformat()
                return value.isoformat(sep=" ")
            return value.isoformat()
        if value is None:
            return ""
        return str(value).strip()
