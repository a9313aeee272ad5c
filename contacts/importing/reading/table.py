"""What the CSV and the workbook readers share: the table they give, the header row and the data rows under
it, which header row is accepted, and the garbage-collector pause while rows are built."""

import contextlib
import gc
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from contacts.importing.columns import has_mandatory_columns, map_columns

EMPTY = _("The file is empty.")
TOO_MANY_ROWS = _("The file has more than {limit:,} data rows, the limit; split it into smaller files.")
MISSING_COLUMNS = _(
    "The header row lacks the mandatory column(s) {columns}; the first row must hold the column "
    "headers of the import template."
)
NO_SHEET_WITH_COLUMNS = _(
    'No sheet has the mandatory columns in its first row; the first sheet, "{sheet}", lacks {columns}.'
)
NO_ACCEPTED_HEADERS = _("No sheet has the expected column headers in its first row.")


class FileRejected(Exception):
    """A problem with the file as a whole; str(error) is one line a support agent can read."""


@dataclass
class Table:
    format: str  # "csv" | "xlsx" | "xls" | "ods"
    headers: list[str]  # header row as written (trimmed), without trailing blank headers
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, trimmed cell texts), len(headers) cells each
    sheet_name: str | None


@dataclass(frozen=True)
class Request:
    """What `read_table` was asked: the file's name for messages, the header row it accepts, the most rows."""

    name: str
    accept_headers: Callable[[list[str]], bool] | None
    max_rows: int

    def accepts(self, headers: list[str]) -> bool:
        accept = self.accept_headers or has_mandatory_columns
        return bool(accept(headers))

    def refusal(self, headers: list[str], *, sheet: str | None) -> str:
        """Why no header row was accepted, `headers` being the first one found (of `sheet` in a workbook)."""
        if self.accept_headers is not None:
            return NO_ACCEPTED_HEADERS
        columns = ", ".join(f'"{header}"' for header in map_columns(headers).missing)
        if sheet is None:
            return MISSING_COLUMNS.format(columns=columns)
        return NO_SHEET_WITH_COLUMNS.format(sheet=one_line(sheet), columns=columns)

    def check_row_count(self, rows: list) -> None:
        if len(rows) > self.max_rows:
            raise FileRejected(TOO_MANY_ROWS.format(limit=self.max_rows))


def find_headers(records: Iterator[tuple[int, list]], texts: Callable[[list], list[str]]) -> list[str] | None:
    """The first non-blank row, without trailing blank cells; `records` then stands after it."""
    for _number, cells in records:
        headers = texts(cells)
        while headers and not headers[-1]:
            headers.pop()
        if headers:
            return headers
    return None


def data_rows(
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


def one_line(text: str, limit: int = 80) -> str:
    """A name from the file (a sheet's) for a message: without line breaks or control characters."""
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]", "", text).strip()
    return text[: limit - 3] + "..." if len(text) > limit else text
