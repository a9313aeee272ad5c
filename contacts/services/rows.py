"""The values a bulk write works with: rows in, outcomes and a plan out, problems with their row."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from contacts.fields import CONTACT_FIELDS
from customers.models import Organization

STORED_FIELDS = ("id", "customer_id", *CONTACT_FIELDS, "source")
ROW_LIST_LIMIT = 10


@dataclass
class Problem:
    row: int | None  # spreadsheet row number (file) or item index (API); None = file-level
    field: str | None  # one of contacts.fields.SPREADSHEET_FIELDS, or None
    message: str  # a sentence without row/column prefix

    def __post_init__(self) -> None:
        # Rendered now, in the language active where the problem is found: reports and the JSON
        # stored on an import batch take plain text.
        self.message = str(self.message)


@dataclass
class RowInput:
    row: int
    values: dict[str, object]  # field -> raw value; a missing key means the column is absent
    # True when every value is already a trimmed str (a file's cells): the checks then read `values`
    # as they are instead of a trimmed copy (100,000 dicts fewer in memory).
    trimmed: bool = False
    # The fields whose cell Excel typed as a date (the file said "03-12", Excel stored 3 December):
    # the checks refuse a date where text was meant (identifier codes, phone, email).
    dates: frozenset[str] = frozenset()
    # The fields whose cell shows an Excel error (#N/A, #REF!…): each is an error, and not read further.
    excel_errors: frozenset[str] = frozenset()
    # What the reader found wrong with the row as a whole (a value right of the last header): errors.
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowPolicy:
    """How the rows of one write are read. The defaults are the bulk API's; the import chooses its own."""

    # A blank value of an existing contact's field clears it (the API: "" and null clear, a field left
    # out keeps). False: a blank cell keeps the stored value (the import's default).
    blank_clears: bool = True
    # A row equal in every field to an earlier one is left out with one warning (the import: a copy-paste)
    # instead of repeating its identifier code (an error).
    skip_exact_duplicates: bool = False


@dataclass
class RowOutcome:
    row: int
    status: str  # "new" | "updated" | "unchanged" | "invalid"
    values: dict[str, object]  # the contact's values after the write (CONTACT_FIELDS)
    previous: dict[str, object] | None  # "updated": stored values of the changed fields
    contact_id: int | None
    customer_id: int | None
    errors: list[Problem] = field(default_factory=list)
    # Fields whose cell was blank and whose stored value was kept (RowPolicy.blank_clears False).
    kept: tuple[str, ...] = ()
    stored_source: str | None = None  # "updated": the contact's source before the write


@dataclass
class Plan:
    organization: Organization
    outcomes: list[RowOutcome]
    warnings: list[Problem]
    # Stored main contacts that lose it to another contact and are not updated by a valid row.
    demotions: list[dict] = field(default_factory=list)

    @property
    def totals(self) -> dict:
        totals = {"rows": len(self.outcomes), "new": 0, "updated": 0, "unchanged": 0, "invalid": 0}
        for outcome in self.outcomes:
            totals[outcome.status] += 1
        return totals

    @property
    def errors(self) -> list[Problem]:
        return [problem for outcome in self.outcomes for problem in outcome.errors]


class StoredContact:
    """A stored contact's columns, read as `contact["email"]`: a third of a dict's memory (100,000 of
    them are read when a file updates 100,000 contacts)."""

    __slots__ = (*STORED_FIELDS, "customer__external_id")

    def __init__(self, *values) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    def __getitem__(self, name: str):
        return getattr(self, name)


@functools.lru_cache(maxsize=65536)
def comparable_name(value: str) -> str:
    """A customer name without case, accents or spaces: the form two names are compared in."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace()).casefold()


# Codes that differ only by case, spaces or dashes ("ac-1016", "AC 1016"), for a suggestion.
_CODE_NOISE = re.compile(r"[\s\-\u2010-\u2015]+")


def comparable_code(value: str) -> str:
    """An identifier code without case, spaces or dashes, and a number without its leading zeros (Excel
    drops them from a code typed in a General cell: 001234 becomes 1234): the form a near miss is looked up
    in."""
    key = _CODE_NOISE.sub("", value).casefold()
    if key.isdigit():
        return key.lstrip("0") or "0"
    return key


# A problem as a person reads it in a list: where it is, then what it is.
AT_ROW_AND_COLUMN = _('Row {row}, "{column}": {message}')
AT_ROW = _("Row {row}: {message}")
IN_COLUMN = _('"{column}": {message}')


def problem_label(row: int | None, column: str | None, message: str) -> str:
    """'Row 7, "Contact\'s Email": "bob@acme" is not a valid email address.' (in the active language)."""
    if row is None:
        return str(IN_COLUMN.format(column=column, message=message)) if column else message
    if column:
        return str(AT_ROW_AND_COLUMN.format(row=row, column=column, message=message))
    return str(AT_ROW.format(row=row, message=message))


# How messages name rows (files: spreadsheet row numbers) and items (the bulk API: indexes from 0).
ONE_ROW = {"row": _("row {number}"), "item": _("item {number}")}
SOME_ROWS = {"row": _("rows {numbers} and {last}"), "item": _("items {numbers} and {last}")}


def row_phrase(row: int, row_label: str) -> str:
    """`row 7` (or `item 7`), in the active language."""
    return str(ONE_ROW.get(row_label, ONE_ROW["row"])).format(number=row)


def row_list(rows: list[int], row_label: str) -> str:
    """`rows 3, 5 and 9`, shortened past ROW_LIST_LIMIT, in the active language."""
    numbers = [str(row) for row in rows[:ROW_LIST_LIMIT]]
    more = len(rows) - len(numbers)
    if more:
        if row_label == "item":
            text = ngettext("items {numbers} and {more} more", "items {numbers} and {more} more", more)
        else:
            text = ngettext("rows {numbers} and {more} more", "rows {numbers} and {more} more", more)
        return text.format(numbers=", ".join(numbers), more=more)
    if len(numbers) == 1:
        return row_phrase(rows[0], row_label)
    some = SOME_ROWS.get(row_label, SOME_ROWS["row"])
    return str(some).format(numbers=", ".join(numbers[:-1]), last=numbers[-1])
