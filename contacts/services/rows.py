"""The values a bulk write works with: rows in, outcomes and a plan out, problems with their row."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field

from contacts.fields import CONTACT_FIELDS
from customers.models import Organization

STORED_FIELDS = ("id", "customer_id", *CONTACT_FIELDS, "source")
ROW_LIST_LIMIT = 10


@dataclass
class Problem:
    row: int | None  # spreadsheet row number (file) or item index (API); None = file-level
    field: str | None  # one of contacts.fields.SPREADSHEET_FIELDS, or None
    message: str  # a sentence without row/column prefix


@dataclass
class RowInput:
    row: int
    values: dict[str, object]  # field -> raw value; a missing key means the column is absent
    # True when every value is already a trimmed str (a file's cells): the checks then read `values`
    # as they are instead of a trimmed copy (100,000 dicts fewer in memory).
    trimmed: bool = False


@dataclass
class RowOutcome:
    row: int
    status: str  # "new" | "updated" | "unchanged" | "invalid"
    values: dict[str, object]  # the contact's values after the write (CONTACT_FIELDS)
    previous: dict[str, object] | None  # "updated": stored values of the changed fields
    contact_id: int | None
    customer_id: int | None
    errors: list[Problem] = field(default_factory=list)
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


def row_list(rows: list[int], row_label: str) -> str:
    """`rows 3, 5 and 9`, shortened past ROW_LIST_LIMIT."""
    numbers = [str(row) for row in rows[:ROW_LIST_LIMIT]]
    more = len(rows) - len(numbers)
    if more:
        return f"{row_label}s {', '.join(numbers)} and {more} more"
    if len(numbers) == 1:
        return f"{row_label} {numbers[0]}"
    return f"{row_label}s {', '.join(numbers[:-1])} and {numbers[-1]}"
