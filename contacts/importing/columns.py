"""Spreadsheet headers → canonical contact fields, in English and French.

Users copy the headers from the help article, so a header matches whatever its case, accents,
spacing, kind of apostrophe, and a trailing "(mandatory)" / "(obligatoire)" or "*".
"""

import re
import unicodedata
from dataclasses import dataclass

from contacts.fields import ENGLISH_HEADERS, FRENCH_HEADERS, MANDATORY_FIELDS, SPREADSHEET_FIELDS

FIELDS = SPREADSHEET_FIELDS

# Apostrophe look-alikes that word processors and the help article substitute for "'".
# (right and left single quotes, modifier apostrophe, grave and acute accents, prime, reversed 9)
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc`\u00b4\u2032\u201b", "'"))
_SPACES = re.compile(r"\s+")
# Markers copied from the article or a template; stripped repeatedly ("Customer name * (mandatory)").
_TRAILING_MARKER = re.compile(
    r"\s*(?:\*|\((?:mandatory|required|optional|obligatoire|facultatif|optionnel)\))\s*$"
)


def normalize_header(text: str) -> str:
    """The comparison key of a header: lower case, no accents, single spaces, "'" apostrophes, no markers."""
    # Apostrophes before NFKD (it turns the acute accent into a space and a combining mark) and after
    # (it makes apostrophes out of other characters, like the fullwidth grave accent).
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    kept = []
    for char in decomposed:
        category = unicodedata.category(char)
        if category == "Mn" or category == "Cf":  # accents; BOMs and zero-width spaces
            continue
        kept.append(" " if category == "Cc" else char)
    key = _SPACES.sub(" ", "".join(kept).casefold().translate(_APOSTROPHES)).strip()
    while True:
        stripped = _TRAILING_MARKER.sub("", key)
        if stripped == key:
            return key
        key = stripped


_ALIASES: dict[str, str] = {
    normalize_header(header): field
    for headers in (ENGLISH_HEADERS, FRENCH_HEADERS)
    for field, header in headers.items()
}


@dataclass(frozen=True)
class ColumnMap:
    positions: dict[str, int]  # field -> 0-based column index (the first column giving it)
    headers: dict[str, str]  # field -> the header exactly as written in the file (for error messages)
    unknown: list[str]  # headers that match no field (ignored, warned about); blank headers are not listed
    missing: list[str]  # mandatory fields absent, as their English headers
    duplicated: list[str]  # every column after the first that gives an already-given field, as written


def map_columns(headers: list[str]) -> ColumnMap:
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    duplicated: list[str] = []
    for index, header in enumerate(headers):
        key = normalize_header(header)
        if not key:
            continue
        field = _ALIASES.get(key)
        if field is None:
            unknown.append(header.strip())
        elif field in positions:
            duplicated.append(header.strip())
        else:
            positions[field] = index
            written[field] = header.strip()
    missing = [ENGLISH_HEADERS[field] for field in MANDATORY_FIELDS if field not in positions]
    return ColumnMap(
        positions=positions, headers=written, unknown=unknown, missing=missing, duplicated=duplicated
    )


def has_mandatory_columns(headers: list[str]) -> bool:
    return all(field in map_columns(headers).positions for field in MANDATORY_FIELDS)
