"""What a file's columns and values mean, when a person says so: a mapping, shaped as `--mapping FILE.json`.

    {"sheet": "Contacts", "header_row": 3, "columns": {"Mail": "Contact's Email", "SIRET": null},
     "values": {"Occupation": {"Direction financière": "ACCOUNTING"}}}

Every key is optional. A column is named by its header in the file (compared without case or accents) and
mapped to a column of the import (the help article's English header; its French header and the field's
name are understood too) or to null to ignore it. Values are given for Occupation (an occupation, or ""
for none) and Main Contact (true or false). The admin's mapping step and a saved profile hold the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from contacts.fields import ENGLISH_HEADERS, FRENCH_HEADERS, SPREADSHEET_FIELDS
from contacts.importing.columns import normalize_header
from contacts.importing.reading import HEADER_SEARCH_ROWS, Layout
from contacts.services.rows import comparable_name
from contacts.services.values import OCCUPATIONS, occupation_value, parse_main_contact

NOT_AN_OBJECT = _(
    "The mapping must be one JSON object whose keys, each optional, are sheet, header_row, columns "
    "and values."
)
UNKNOWN_KEY = _('The mapping has an unknown key "{key}"; its keys are sheet, header_row, columns and values.')
BAD_SHEET = _('The mapping\'s "sheet" must be the name of a sheet, in quotes.')
BAD_HEADER_ROW = _('The mapping\'s "header_row" must be a row number from 1 to {limit}.')
BAD_COLUMNS = _(
    'The mapping\'s "columns" must be an object from headers of the file to columns of the import '
    "(or null to ignore a column)."
)
UNKNOWN_TARGET = _(
    'The mapping reads "{column}" as "{target}", which is not a column of the import; use one of '
    "{columns}, or null to ignore it."
)
BAD_VALUES = _(
    'The mapping\'s "values" must be an object from "Occupation" or "Main Contact" to an object from '
    "values in the file to what they mean."
)
BAD_OCCUPATION = _(
    'The mapping reads the occupation "{value}" as "{target}"; use one of {allowed}, or "" for none.'
)
BAD_MAIN_CONTACT = _('The mapping reads the main contact value "{value}" as "{target}"; use true or false.')

# The fields whose values a mapping may give a meaning.
VALUE_FIELDS = ("occupation", "is_main")
_KEYS = ("sheet", "header_row", "columns", "values")


class MappingInvalid(ValueError):
    """A mapping that cannot be used; str(error) is one line saying what to fix."""


@dataclass(frozen=True)
class Mapping:
    sheet: str | None = None
    header_row: int | None = None
    columns: dict[str, str | None] = field(default_factory=dict)  # header as written -> field, None: ignore
    # field -> {value as written -> an occupation (or "" for none) / True or False for the main contact}
    values: dict[str, dict[str, str | bool]] = field(default_factory=dict)

    def layout(self) -> Layout:
        return Layout(sheet=self.sheet, header_row=self.header_row, columns=dict(self.columns))

    def value_meanings(self, name: str) -> dict[str, str | bool]:
        """The values given a meaning for field `name`, keyed as cells are compared (comparable_name)."""
        return {comparable_name(value): meaning for value, meaning in self.values.get(name, {}).items()}

    def to_json(self) -> dict:
        """The mapping in the shape `--mapping FILE.json` reads (English headers of the import)."""
        result: dict = {}
        if self.sheet is not None:
            result["sheet"] = self.sheet
        if self.header_row is not None:
            result["header_row"] = self.header_row
        if self.columns:
            result["columns"] = {
                header: ENGLISH_HEADERS[name] if name else None for header, name in self.columns.items()
            }
        if self.values:
            result["values"] = {ENGLISH_HEADERS[name]: dict(values) for name, values in self.values.items()}
        return result


def field_named(text: object) -> str | None:
    """The field a mapping names: by its English or French header, or its own name."""
    if not isinstance(text, str):
        return None
    return _FIELD_NAMES.get(normalize_header(text))


_FIELD_NAMES = {
    normalize_header(text): name
    for name in SPREADSHEET_FIELDS
    for text in (name, ENGLISH_HEADERS[name], FRENCH_HEADERS[name])
}


def mapping_from_json(data: object) -> Mapping:
    """The mapping `data` (parsed JSON) describes; `MappingInvalid` saying what is wrong with it."""
    if not isinstance(data, dict):
        raise MappingInvalid(NOT_AN_OBJECT)
    for key in data:
        if key not in _KEYS:
            raise MappingInvalid(UNKNOWN_KEY.format(key=key))
    sheet = data.get("sheet")
    if sheet is not None and not isinstance(sheet, str):
        raise MappingInvalid(BAD_SHEET)
    header_row = data.get("header_row")
    if header_row is not None and (
        isinstance(header_row, bool)
        or not isinstance(header_row, int)
        or not 1 <= header_row <= HEADER_SEARCH_ROWS
    ):
        raise MappingInvalid(BAD_HEADER_ROW.format(limit=HEADER_SEARCH_ROWS))
    return Mapping(
        sheet=sheet or None,
        header_row=header_row,
        columns=_columns_from_json(data.get("columns") or {}),
        values=_values_from_json(data.get("values") or {}),
    )


def _columns_from_json(columns: object) -> dict[str, str | None]:
    if not isinstance(columns, dict):
        raise MappingInvalid(BAD_COLUMNS)
    result: dict[str, str | None] = {}
    for header, target in columns.items():
        name = None if target is None else field_named(target)
        if target is not None and name is None:
            names = ", ".join(f'"{ENGLISH_HEADERS[name]}"' for name in SPREADSHEET_FIELDS)
            raise MappingInvalid(UNKNOWN_TARGET.format(column=header, target=target, columns=names))
        result[header] = name
    return result


def _values_from_json(values: object) -> dict[str, dict[str, str | bool]]:
    if not isinstance(values, dict):
        raise MappingInvalid(BAD_VALUES)
    result: dict[str, dict[str, str | bool]] = {}
    for target, meanings in values.items():
        name = field_named(target)
        if name not in VALUE_FIELDS or not isinstance(meanings, dict):
            raise MappingInvalid(BAD_VALUES)
        result[name] = {value: value_meaning(name, value, meaning) for value, meaning in meanings.items()}
    return result


def value_meaning(name: str, value: str, meaning: object) -> str | bool:
    """What `meaning` says `value` of field `name` is: an occupation ("" for none), or True or False."""
    if name == "occupation":
        occupation = occupation_value(meaning.strip()) if isinstance(meaning, str) else None
        if meaning is None or occupation is not None:
            return occupation or ""
        raise MappingInvalid(
            BAD_OCCUPATION.format(value=value, target=meaning, allowed=", ".join(OCCUPATIONS))
        )
    try:
        is_main = parse_main_contact(meaning)
    except ValueError:
        is_main = None
    if is_main is None:
        raise MappingInvalid(BAD_MAIN_CONTACT.format(value=value, target=meaning))
    return is_main


def meaning_text(name: str, meaning: str | bool) -> str:
    """A value's meaning as the text the checks read: the occupation, or 1 / 0."""
    if name == "occupation":
        return str(meaning)
    return "1" if meaning else "0"
