"""Excel and OpenDocument workbooks → a Table, parsed by python-calamine in a memory- and time-capped child.

A hostile file can make calamine abort the whole process, which no `except` catches: a single stray cell
at XFD1048576 makes it allocate a dense range of 17 billion cells. The child has a memory cap and a time
limit; when it dies, only the file is refused.
"""

import datetime
import io
import itertools
import marshal
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import python_calamine
from django.utils.translation import gettext_lazy as _

from contacts.importing.reading.detect import DAMAGED, PASSWORD_PROTECTED
from contacts.importing.reading.table import (
    EMPTY,
    FileRejected,
    Request,
    Table,
    collector_paused,
    data_rows,
    find_headers,
    one_line,
)

try:
    import resource
except ImportError:  # not on Windows; the child then runs without a memory cap
    resource = None

NUL_IN_CELLS = _(
    '{where} of sheet "{sheet}" holds a NUL character (invisible in Excel), which cannot be stored; '
    "type that row's cells again and send the file again."
)
TOO_DEMANDING = _(
    "{name} needs too much memory or time to read (a stray cell far below or right of the data, or a "
    "damaged file); delete the empty rows and columns after the data in Excel and send it again."
)

# Limits of the child process that parses Excel files: address space, and seconds.
WORKBOOK_MEMORY = 2 * 1024 * 1024 * 1024
WORKBOOK_TIMEOUT = 120

_PROJECT_ROOT = Path(__file__).resolve().parents[3]
# The child imports this module by its dotted path; isolated (-I), it has no project on sys.path until this.
_CHILD_CODE = (
    f"import sys; sys.path.insert(0, {str(_PROJECT_ROOT)!r}); "
    "from contacts.importing.reading.workbook import _workbook_child; _workbook_child()"
)


@dataclass
class _Sheet:
    name: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # at most max_rows + 1


def read_workbook(data: bytes, format: str, request: Request) -> Table:
    """The first visible sheet whose header row `request` accepts."""
    first: _Sheet | None = None
    for sheet in _parse_workbook(data, name=request.name, max_rows=request.max_rows):
        if request.accepts(sheet.headers):
            request.check_row_count(sheet.rows)
            where = _where_nul(sheet)
            if where:
                raise FileRejected(NUL_IN_CELLS.format(where=where, sheet=one_line(sheet.name)))
            return Table(format=format, headers=sheet.headers, rows=sheet.rows, sheet_name=sheet.name)
        first = first or sheet
    if first is None:
        raise FileRejected(EMPTY)
    raise FileRejected(request.refusal(first.headers, sheet=first.name))


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
    """The visible worksheets that have a header row, parsed in the child process."""
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD_CODE],
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
            headers = find_headers(records, _cell_texts)
            if headers is not None:
                sheets.append((sheet.name, headers, data_rows(records, headers, _cell_texts, limit=max_rows)))
    return sheets


def _cell_texts(cells: list) -> list[str]:
    # Most cells are text: testing for it first skips _cell_text's chain of checks (100,000 rows of nine
    # cells: 0.14 s instead of 0.16 s).
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
