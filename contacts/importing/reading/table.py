"""What the CSV and the workbook readers share: where the header row is, the data rows under it, the footer
below them, the table they give, and the garbage-collector pause while rows are built.

The header row is looked for among the first HEADER_SEARCH_ROWS rows of a sheet, so title lines, blank
rows and a merged title above it are skipped: it is the row naming the most columns the import knows
(article headers, aliases, or the mapping's), at least MIN_HEADER_NAMES of them, the first of equals. A
mapping may name the header row instead. Deciding reads no more than those rows, once each.
"""

import contextlib
import gc
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from contacts.importing.columns import (
    ColumnMap,
    map_columns,
    mapping_keys,
    normalize_header,
    recognised_count,
)

EMPTY = _("The file is empty.")
TOO_MANY_ROWS = _("The file has more than {limit:,} data rows, the limit; split it into smaller files.")
TOO_MANY_COLUMNS = _(
    "The header row (row {row}) has cells in {count:,} columns, more than the {limit} an import reads; "
    "delete the columns to the right of the data and send the file again."
)
NO_HEADER_ROW = _(
    "None of the first {rows} rows names two columns of the import; put the column headers of the "
    'import template (such as "Contact\'s Email" or "Email du contact") above the data.'
)
NO_SHEET_WITH_HEADERS = _(
    "No sheet names two columns of the import in its first {rows} rows (sheets looked at: {sheets}); "
    "put the column headers of the import template above the data."
)

HEADER_SEARCH_ROWS = 20
MIN_HEADER_NAMES = 2
# Trailing rows looked at as a possible footer ("TOTAL : 14 contacts", a count formula's result).
FOOTER_MAX_ROWS = 5
# A footer's label starts with one of these words (compared without case or accents, after any stars or
# dashes): a total, a count ("Nombre de contacts : 14", "14 contacts"), or the end ("Fin du fichier").
_FOOTER_LABEL = re.compile(
    r"[^0-9a-z]*(?:"
    r"(?:sous[ -]?|sub[ -]?)?tota(?:l|ux)\b|(?:nb|nbre|nombre|count|sum|somme)\b"
    r"|[0-9][0-9 ]*(?:contacts?|lignes?|rows?|lines?|enregistrements?|records?)\b"
    r"|fin\b|end(?: of (?:file|list|data))?\b|eof\b"
    r")"
)
# A formula's result: a plain number (no leading zero: "06 12 34 56 78" is a phone), thousands grouped.
_FOOTER_NUMBER = re.compile(r"(?:0|[1-9]\d{0,2}(?:[ \u00a0\u202f]?\d{3}){0,2})(?:[.,]\d+)?")


class FileRejected(Exception):
    """A problem with the file as a whole; str(error) is one line a support agent can read."""


@dataclass(frozen=True)
class Layout:
    """Where the table is and what its columns mean, when a person said so (the mapping step, --mapping, a
    saved profile); every part optional: the rest is found by header detection."""

    sheet: str | None = None
    header_row: int | None = None
    columns: dict[str, str | None] = field(default_factory=dict)  # header as written -> field, None: ignore

    def marshalled(self) -> tuple:
        return (self.sheet, self.header_row, dict(self.columns))


@dataclass(frozen=True)
class Request:
    """What `read_table` was asked: the file's name for messages, the layout, the most rows and columns."""

    name: str
    layout: Layout
    max_rows: int
    max_columns: int

    def check_row_count(self, rows: list) -> None:
        if len(rows) > self.max_rows:
            raise FileRejected(TOO_MANY_ROWS.format(limit=self.max_rows))


@dataclass
class TopRow:
    """One of a sheet's first rows: its number, its first `max_columns` cell texts, and its real width."""

    number: int
    values: list[str]
    width: int  # the index of its last non-blank cell + 1, however far


@dataclass
class Header:
    row: int
    headers: list[str]  # as written (trimmed), without trailing blank headers, at most max_columns
    width: int  # of the whole row: over max_columns, the file is refused
    names: int  # how many of its cells name a known column

    def columns(self, layout: Layout) -> ColumnMap:
        return map_columns(self.headers, mapping_keys(layout.columns))


class Rows(Sequence):
    """The data rows, (row number, cells), cut to the header's width.

    Held padded only to the last column giving a field, so a wide header does not multiply the memory of
    every row; read through this view, a row comes padded to the header's width, as the error report
    lays it out. `held` is the list itself, for the pipeline, which reads only the fields' columns.
    """

    def __init__(self, held: list[tuple[int, list[str]]], width: int) -> None:
        self.held, self.width = held, width

    def __len__(self) -> int:
        return len(self.held)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._padded(row) for row in self.held[index]]
        return self._padded(self.held[index])

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return map(self._padded, self.held)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return repr(list(self))

    def _padded(self, row: tuple[int, list[str]]) -> tuple[int, list[str]]:
        number, cells = row
        if len(cells) >= self.width:
            return row
        return number, [*cells, *[""] * (self.width - len(cells))]


@dataclass
class Table:
    format: str  # "csv" | "xlsx" | "xls" | "ods"
    headers: list[str]  # header row as written (trimmed), without trailing blank headers
    rows: Sequence[tuple[int, list[str]]]  # (spreadsheet row number, trimmed cell texts): a Rows view
    sheet_name: str | None
    header_row: int = 1
    columns: ColumnMap | None = None  # which column gives which field, with the layout's columns
    top_rows: list[tuple[int, list[str]]] = field(default_factory=list)  # non-blank rows among the first
    sheet_names: list[str] = field(default_factory=list)  # the visible worksheets, in order
    skipped_sheets: list[str] = field(
        default_factory=list
    )  # looked at, without a header row (or a worse one)
    unread_sheets: list[str] = field(default_factory=list)  # after the data sheet: not read
    dates: dict[int, tuple[int, ...]] = field(default_factory=dict)  # row -> columns Excel typed as dates
    footer: list[tuple[int, list[str]]] = field(default_factory=list)  # rows below the data: totals, counts
    hidden_rows: list[int] = field(default_factory=list)  # data rows an .xlsx hides (they are read)
    hidden_sheets: list[str] = field(default_factory=list)  # worksheets hidden in the workbook: not read
    beyond: dict[int, int] = field(default_factory=dict)  # row -> first column with a value past the header


Texts = Callable[[int, list], list[str]]  # (row number, raw cells) -> trimmed cell texts


def scan_top(records: Iterator[tuple[int, list]], texts: Texts, max_columns: int) -> list[TopRow]:
    """The first HEADER_SEARCH_ROWS rows; `records` then stands after them."""
    top = []
    for number, cells in records:
        values = texts(number, cells[:max_columns])
        width = len(values)
        if len(cells) > max_columns and any(cells[max_columns:]):
            width = _width(cells)
        while width and width <= len(values) and not values[width - 1]:
            width -= 1
        top.append(TopRow(number, values, width))
        if number >= HEADER_SEARCH_ROWS:
            break
    return top


def _width(cells: list) -> int:
    """The index of the last cell holding something + 1 (a cell of spaces holds nothing)."""
    for index in range(len(cells) - 1, -1, -1):
        cell = cells[index]
        if cell is not None and (cell.strip() if isinstance(cell, str) else cell != ""):
            return index + 1
    return 0


def choose_header(top: list[TopRow], layout: Layout) -> Header | None:
    """The header row among `top`: the layout's, or the one naming the most known columns (at least two)."""
    mapped = mapping_keys(layout.columns)
    chosen, names = None, MIN_HEADER_NAMES - 1
    for row in top:
        count = recognised_count(row.values, mapped)
        if layout.header_row is not None:
            if row.number == layout.header_row and row.width:
                chosen, names = row, count
        elif count > names:
            chosen, names = row, count
    if chosen is None:
        return None
    headers = chosen.values[: chosen.width]
    return Header(row=chosen.number, headers=headers, width=chosen.width, names=names)


def check_width(header: Header, max_columns: int) -> None:
    if header.width > max_columns:
        raise FileRejected(TOO_MANY_COLUMNS.format(row=header.row, count=header.width, limit=max_columns))


def data_rows(
    top: list[TopRow],
    records: Iterator[tuple[int, list]],
    header: Header,
    columns: ColumnMap,
    texts: Texts,
    *,
    limit: int,
) -> tuple[list[tuple[int, list[str]]], dict[int, int]]:
    """The non-blank rows after the header (those of `top` below it, then `records`), cut to its width and
    padded to its last column giving a field; stops at `limit` + 1 rows. And the rows holding a value to the
    right of the header's last column: row -> the index of the first such cell."""
    width = len(header.headers)
    kept = columns.last_position + 1
    padding = [""] * kept
    rows: list[tuple[int, list[str]]] = []
    beyond: dict[int, int] = {}
    with collector_paused():
        # The first rows below the header were read already: their texts are read again (trimming a text
        # gives it back), so that one loop, over C iterators, reads every row.
        below = ((row.number, row.values) for row in top if row.number > header.row)
        for number, cells in itertools.chain(below, records):
            values = texts(number, cells[:width])
            if not any(values):
                continue
            if len(cells) > width and (index := _first_filled(cells, width)) is not None:
                beyond[number] = index
            if len(values) < kept:
                values.extend(padding[len(values) :])
            elif len(values) > kept and not values[-1]:
                while len(values) > kept and not values[-1]:
                    values.pop()
            rows.append((number, values))
            if len(rows) > limit:
                break
    return rows, beyond


def _first_filled(cells: list, start: int) -> int | None:
    """The index of the first cell from `start` holding something (a cell of spaces holds nothing)."""
    for index in range(start, len(cells)):
        cell = cells[index]
        if cell is not None and (cell.strip() if isinstance(cell, str) else cell != ""):
            return index
    return None


def split_footer(
    rows: list[tuple[int, list[str]]], columns: ColumnMap
) -> tuple[list[tuple[int, list[str]]], list[tuple[int, list[str]]]]:
    """(data rows, footer): the last rows holding only a total or a count, in one or two cells, are a footer.

    A row with both identifiers (the customer's and the contact's) filled is data, whatever else it holds.
    """
    identifiers = [
        columns.positions[name]
        for name in ("customer_external_id", "external_id")
        if name in columns.positions
    ]
    end = len(rows)
    while end > max(0, len(rows) - FOOTER_MAX_ROWS) and _is_footer(rows[end - 1][1], identifiers):
        end -= 1
    if end == len(rows):
        return rows, []
    return rows[:end], rows[end:]


def _is_footer(cells: list[str], identifiers: list[int]) -> bool:
    filled = [cell for cell in cells if cell]
    if not 1 <= len(filled) <= 2:
        return False
    if len(identifiers) == 2 and all(index < len(cells) and cells[index] for index in identifiers):
        return False
    return all(
        _FOOTER_NUMBER.fullmatch(cell) or _FOOTER_LABEL.match(normalize_header(cell)) for cell in filled
    )


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


def quoted_list(names: list[str]) -> str:
    """'"Read me", "Pivot"': names from the file for a message."""
    return ", ".join(f'"{one_line(name)}"' for name in names)
