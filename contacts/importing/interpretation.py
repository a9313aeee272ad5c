"""A read table → what it means: which column gives which field, what its Occupation and Main Contact values
say, and whether a person must confirm that reading first (the admin's mapping step).

The reading follows, first to last: a mapping a person gave (the mapping step, --mapping), else the
organization's saved profile, then the article's headers, the built-in aliases and close spellings, and
the built-in value words of the checks. A profile that no longer fits the file, a mandatory column
missing, a column name only guessed, or values nobody knows make `reasons`: the admin then shows the
mapping step; the command line refuses the first two and warns of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter

from django.utils.translation import gettext_lazy as _

from contacts.fields import ENGLISH_HEADERS
from contacts.importing.columns import (
    BY_ALIAS,
    BY_GUESS,
    BY_HEADER,
    BY_MAPPING,
    FIELD_LABELS,
    MAX_HEADER_LENGTH,
    ColumnMap,
    column_key,
    column_letter,
    column_list,
    key_position,
    known_field,
    normalize_header,
)
from contacts.importing.mapping import VALUE_FIELDS, Mapping, meaning_text
from contacts.importing.reading import HEADER_SEARCH_ROWS, Table, quoted_list
from contacts.importing.row_marks import mark_beyond_headers, mark_excel_errors
from contacts.services.rows import RowInput, comparable_name, row_list
from contacts.services.values import EXCEL_ERRORS, occupation_value, parse_main_contact, yes_no

MISSING_COLUMNS = _("The header row (row {row}) lacks the mandatory column(s) {columns}.")
MISSING_COLUMNS_IN_SHEET = _(
    'The header row (row {row} of sheet "{sheet}") lacks the mandatory column(s) {columns}.'
)
PROFILE_NO_LONGER_FITS = _("The file no longer fits {organization}'s saved profile: {reason}.")
PROFILE_COLUMNS_ABSENT = _("its column(s) {columns} are not in the header row")
PROFILE_HEADER_MOVED = _("the header row is {found}, not {expected}")
GUESSED_COLUMNS = _(
    "Some columns are read by a name close to theirs: {columns}; check that this is what they mean."
)
REPEATED_COLUMNS = _(
    'Columns {columns} each read as "{column}": only column {first} is imported, the others are ignored; '
    "choose the column to import in the mapping step (or with --mapping)."
)
HIDDEN_ROWS = _(
    "Rows hidden in Excel are imported like the others: {rows}; unhide them to check them, or delete them "
    "if they are not meant to be imported."
)
HIDDEN_SHEETS = _("Hidden sheets are not read: {sheets}; unhide a sheet in Excel if it holds contacts.")
UNKNOWN_VALUES = _('"{column}" holds values the import does not know: {values}.')
SHEETS_SKIPPED = _(
    "Sheets skipped, as none of their first {rows} rows names two columns of the import: {sheets}."
)
SHEETS_NOT_READ = _('Sheets not read, as they come after the sheet of contacts, "{sheet}": {sheets}.')
FOOTER_ROWS = _("Not imported, as they hold only a total or a count below the data: {rows} ({texts}).")
READ_WITH_PROFILE = _("Read with {organization}'s saved profile ({details})")
READ_WITH_MAPPING = _("Read with the mapping chosen ({details})")
READ_AS_FOUND = _("Read as found ({details})")
HEADER_ON_ROW = _("header on row {row}")
HEADER_ON_ROW_OF_SHEET = _("header on row {row} of sheet {sheet}")
ON_SHEET = _("sheet {sheet}")
IGNORED = _("ignored")
NO_OCCUPATION = _("no occupation")
# How a column not named by the article's header was read, as the command line says it.
READ_BY = {
    BY_ALIAS: _("a usual name of the column"),
    BY_GUESS: _("a guess: a close spelling of a usual name"),
    "profile": _("the organization's saved profile"),
    BY_MAPPING: _("the mapping given"),
}
COLUMN_READ = _("Column {letter}, '{header}' → {column} (read by {how})")

FOUND, PROFILE, MAPPING = "found", "profile", "mapping"
# Unknown values offered per column in the mapping step; a column with more holds something else.
MAX_UNKNOWN_VALUES = 30
# Longer headers and values are no names a person maps (a pasted note): neither offered nor kept in a
# mapping (the session, the profile).
MAX_MAPPED_LENGTH = MAX_HEADER_LENGTH


@dataclass
class Reading:
    """How a file is read, and what a person must confirm before it is."""

    source: str  # FOUND, PROFILE or MAPPING: what said where the header is and what columns mean
    sheet: str | None
    header_row: int
    columns: ColumnMap
    # field -> {cell as written: the text the checks get}: the value meanings a mapping or profile gave
    value_texts: dict[str, dict[str, str]] = field(default_factory=dict)
    # field -> {value as written: meaning}, for the values of this file given one (saved with the profile)
    values: dict[str, dict[str, str | bool]] = field(default_factory=dict)
    unknown_values: dict[str, dict[str, int]] = field(default_factory=dict)  # field -> {value: rows}
    errors: list[str] = field(default_factory=list)  # the file cannot be read so
    reasons: list[str] = field(default_factory=list)  # a person should confirm the reading (errors too)
    warnings: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def guessed(self) -> list[str]:
        """The fields whose column is read by a close spelling of its name, which a person must confirm."""
        return [name for name in self.columns.positions if self.columns.how.get(name) == BY_GUESS]

    def column_readings(self) -> list[dict]:
        """The columns not named by the article's header, each with how it was read: "alias", "guess",
        "profile" (the saved profile's) or "mapping" (the one given)."""
        readings = []
        for name, index in sorted(self.columns.positions.items(), key=lambda item: item[1]):
            header, how = self.columns.headers[name], self.columns.how.get(name, BY_HEADER)
            if how == BY_MAPPING:
                if known_field(header) == (name, BY_HEADER):
                    continue
                how = "profile" if self.source == PROFILE else BY_MAPPING
            if how != BY_HEADER:
                column = ENGLISH_HEADERS[name]
                readings.append(
                    {"column": column_letter(index), "header": header, "field": column, "read_by": how}
                )
        return readings

    def mapping(self) -> Mapping:
        """This reading as a mapping: what a saved profile keeps."""
        found = self.columns
        columns = {self._key(index, found.headers[name]): name for name, index in found.positions.items()}
        columns.update(dict.fromkeys(map(self._key, found.ignored_at, found.ignored)))
        # The columns repeating a field are ignored, as they were: read again, they would repeat it again.
        repeated = [index for indexes in found.repeats.values() for index in indexes[1:]]
        columns.update(dict.fromkeys(self._key(index, found.row[index]) for index in repeated))
        columns = {header: name for header, name in columns.items() if len(header) <= MAX_MAPPED_LENGTH}
        return Mapping(sheet=self.sheet, header_row=self.header_row, columns=columns, values=self.values)

    def _key(self, index: int, header: str) -> str:
        return column_key(self.columns.row, index) if self.columns.row else header


def reading_of(table: Table, *, given: Mapping | None, source: str, organization: str) -> Reading:
    """How `table` reads with `given` (the mapping or profile it was read with, per `source`)."""
    given = given or Mapping()
    columns = table.columns
    reading = Reading(source=source, sheet=table.sheet_name, header_row=table.header_row, columns=columns)
    if source == PROFILE and (misfit := _misfit(given, table)):
        reading.errors.append(PROFILE_NO_LONGER_FITS.format(organization=organization, reason=misfit))
    if columns.missing:
        missing = ", ".join(f'"{header}"' for header in columns.missing)
        message = MISSING_COLUMNS_IN_SHEET if table.sheet_name is not None else MISSING_COLUMNS
        reading.errors.append(message.format(row=table.header_row, sheet=table.sheet_name, columns=missing))
    reading.reasons.extend(reading.errors)
    if guessed := _read_as(columns, BY_GUESS):
        reading.reasons.append(GUESSED_COLUMNS.format(columns=guessed))
    _scan_values(reading, table, given)
    reading.warnings.extend(_sheet_and_footer_warnings(table))
    reading.summary = _summary(reading, table, organization)
    return reading


def _misfit(profile: Mapping, table: Table) -> str:
    """Why the file does not fit the profile, or "": a column it names is gone, or the header moved."""
    found = {normalize_header(header) for header in table.headers}
    absent = [header for header, name in profile.columns.items() if name and not _fits(header, found, table)]
    if absent:
        return PROFILE_COLUMNS_ABSENT.format(columns=", ".join(f'"{header}"' for header in absent))
    moved_sheet = (
        profile.sheet is not None and table.sheet_name is not None and profile.sheet != table.sheet_name
    )
    if moved_sheet or (profile.header_row is not None and profile.header_row != table.header_row):
        expected = _header_place(profile.header_row or table.header_row, profile.sheet or table.sheet_name)
        return PROFILE_HEADER_MOVED.format(
            found=_header_place(table.header_row, table.sheet_name), expected=expected
        )
    return ""


def _fits(key: str, found: set[str], table: Table) -> bool:
    """Whether the column a mapping's key names is in the header row (by its header, or its position)."""
    index = key_position(key)
    if index is None:
        return normalize_header(key) in found
    return index < len(table.headers) and bool(table.headers[index].strip())


def repeated_columns(columns: ColumnMap) -> list[str]:
    """ "Columns C and F each read as "Contact's Email": only column C is imported…", per field repeated."""
    return [
        str(
            REPEATED_COLUMNS.format(
                columns=column_list(indexes), column=ENGLISH_HEADERS[name], first=column_letter(indexes[0])
            )
        )
        for name, indexes in columns.repeats.items()
    ]


def _scan_values(reading: Reading, table: Table, given: Mapping) -> None:
    """The distinct Occupation and Main Contact values: those a mapping gives a meaning, and the unknown."""
    for name in VALUE_FIELDS:
        index = reading.columns.positions.get(name)
        if index is None:
            continue
        meanings = given.value_meanings(name)
        # One dict insertion per row, in C, the values in the order of the file (the strings keep their
        # hash for the checks' lookups after); the rest is per distinct value.
        column = map(itemgetter(index), map(itemgetter(1), table.rows.held))
        unknown: dict[str, int] = {}
        for value in dict.fromkeys(column):
            key = comparable_name(value) if value else ""
            if key in meanings:
                reading.value_texts.setdefault(name, {})[value] = meaning_text(name, meanings[key])
                reading.values.setdefault(name, {})[value] = meanings[key]
            elif (
                value
                and len(value) <= MAX_MAPPED_LENGTH
                and value not in EXCEL_ERRORS  # an error of its own, not a value to give a meaning
                and not _known_value(name, value)
                and len(unknown) < MAX_UNKNOWN_VALUES
            ):
                unknown[value] = 0
        if unknown:
            for value in map(itemgetter(index), map(itemgetter(1), table.rows.held)):
                if value in unknown:
                    unknown[value] += 1
        if unknown:
            reading.unknown_values[name] = unknown
            column = reading.columns.headers[name]
            values = ", ".join(f'"{value}"' for value in unknown)
            reading.reasons.append(UNKNOWN_VALUES.format(column=column, values=values))


def column_read(reading: dict) -> str:
    """ "Column G, 'Telephonne' → Contact's Telephone Number (read by a guess: …)": one of column_readings."""
    how = READ_BY[reading["read_by"]]
    return str(
        COLUMN_READ.format(
            letter=reading["column"], header=reading["header"], column=reading["field"], how=how
        )
    )


def _known_value(name: str, value: str) -> bool:
    if name == "occupation":
        return occupation_value(value) is not None
    try:
        parse_main_contact(value)
    except ValueError:
        return False
    return True


def _read_as(columns: ColumnMap, kinds: tuple[str, ...]) -> str:
    """ "'Mail' → email, 'Tél.' → phone": the columns read by one of `kinds` of match."""
    return ", ".join(
        f"'{columns.headers[name]}' → {FIELD_LABELS[name]}"
        for name in columns.positions
        if columns.how.get(name) in kinds
    )


def _sheet_and_footer_warnings(table: Table) -> list[str]:
    warnings = []
    if table.skipped_sheets:
        warnings.append(
            SHEETS_SKIPPED.format(rows=HEADER_SEARCH_ROWS, sheets=quoted_list(table.skipped_sheets))
        )
    if table.unread_sheets:
        warnings.append(
            SHEETS_NOT_READ.format(sheet=table.sheet_name, sheets=quoted_list(table.unread_sheets))
        )
    footer = {number for number, _cells in table.footer}
    if hidden := [number for number in table.hidden_rows if number not in footer]:
        warnings.append(HIDDEN_ROWS.format(rows=row_list(hidden, "row")))
    if table.hidden_sheets:
        warnings.append(HIDDEN_SHEETS.format(sheets=quoted_list(table.hidden_sheets)))
    if table.footer:
        rows = row_list([number for number, _cells in table.footer], "row")
        texts = ", ".join(f'"{" ".join(cell for cell in cells if cell)}"' for _number, cells in table.footer)
        warnings.append(FOOTER_ROWS.format(rows=rows, texts=texts))
    return warnings


def _summary(reading: Reading, table: Table, organization: str) -> str:
    """ "Read with Acme's saved profile (header on row 3 of sheet Contacts; 'Mail' → email)"; "" when the file
    reads as the template does (article headers on its first row, one sheet)."""
    details = describe(reading.mapping())
    if reading.source == PROFILE:
        return READ_WITH_PROFILE.format(organization=organization, details=details)
    if reading.source == MAPPING:
        return READ_WITH_MAPPING.format(details=details)
    if details == _header_place(1, None) and len(table.sheet_names) <= 1:
        return ""
    return READ_AS_FOUND.format(details=details)


def describe(mapping: Mapping) -> str:
    """ "header on row 3 of sheet Contacts; 'Mail' → email; 'Direction financière' → ACCOUNTING": the place
    of the header and the meanings that are not the article's headers."""
    parts = []
    if mapping.header_row is not None:
        parts.append(_header_place(mapping.header_row, mapping.sheet))
    elif mapping.sheet is not None:
        parts.append(str(ON_SHEET.format(sheet=mapping.sheet)))
    for header, name in mapping.columns.items():
        if name is None:
            parts.append(f"'{header}' → {IGNORED}")
        elif known_field(header) != (name, BY_HEADER):
            parts.append(f"'{header}' → {FIELD_LABELS[name]}")
    for name, meanings in mapping.values.items():
        parts += [f"'{value}' → {_meaning_shown(name, meaning)}" for value, meaning in meanings.items()]
    return "; ".join(parts)


def _header_place(row: int, sheet: str | None) -> str:
    if sheet is None:
        return str(HEADER_ON_ROW.format(row=row))
    return str(HEADER_ON_ROW_OF_SHEET.format(row=row, sheet=sheet))


def _meaning_shown(name: str, meaning: str | bool) -> str:
    if name == "occupation":
        return str(meaning or NO_OCCUPATION)
    return yes_no(meaning)


def row_inputs(table: Table, reading: Reading) -> list[RowInput]:
    """The rows for the bulk rules: each field's cell, with the mapped values' meanings and the date marks."""
    positions = list(reading.columns.positions.items())
    held = table.rows.held
    rows = [
        RowInput(row=number, values={name: cells[index] for name, index in positions}, trimmed=True)
        for number, cells in held
    ]
    mark_excel_errors(rows, held, positions)
    for name, texts in reading.value_texts.items():
        for row in rows:
            value = row.values[name]
            row.values[name] = texts.get(value, value)
    if table.beyond:
        mark_beyond_headers(rows, table.beyond)
    if table.dates:
        for row in rows:
            dated = table.dates.get(row.row)
            if dated:
                row.dates = frozenset(name for name, index in positions if index in dated)
    return rows
