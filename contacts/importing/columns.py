"""Spreadsheet headers → canonical contact fields, in English and French, and as clients rename them.

Users copy the headers from the help article, so a header matches whatever its case, accents,
spacing, kind of apostrophe, and a trailing "(mandatory)" / "(obligatoire)" or "*". Clients also
rename them ("Mail", "Tél.", "Société", "Code client"): those built-in aliases are recognised too, and a
close spelling of one ("Telephonne") is a guess that a person confirms in the admin's mapping step.
A mapping (chosen in that step, given with --mapping or saved as the organization's profile) comes
first: it names a column's field, or says to ignore it.
"""

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from contacts.fields import API_NAMES, ENGLISH_HEADERS, FRENCH_HEADERS, MANDATORY_FIELDS, SPREADSHEET_FIELDS

FIELDS = SPREADSHEET_FIELDS

# How a column's field was found, from the most to the least certain.
BY_MAPPING, BY_HEADER, BY_ALIAS, BY_GUESS = "mapping", "header", "alias", "guess"

# Short names of the fields in sentences that say how a file is read ("'Mail' → email").
FIELD_LABELS = {
    "customer_name": _("customer name"),
    "customer_external_id": _("customer external id"),
    "external_id": _("contact id"),
    "email": _("email"),
    "first_name": _("first name"),
    "last_name": _("last name"),
    "phone": _("phone"),
    "occupation": _("occupation"),
    "is_main": _("main contact"),
}

# Apostrophe look-alikes that word processors and the help article substitute for "'".
# (right and left single quotes, modifier apostrophe, grave and acute accents, prime, reversed 9)
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc`\u00b4\u2032\u201b", "'"))
_SPACES = re.compile(r"\s+")
# Markers copied from the article or a template; stripped repeatedly ("Customer name * (mandatory)").
_TRAILING_MARKER = re.compile(
    r"\s*(?:\*|\((?:mandatory|required|optional|obligatoire|facultatif|optionnel)\))\s*$"
)
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


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


def loose_key(text: str) -> str:
    """A header's key without punctuation: "Tél." and "tel", "E-mail" and "e mail" compare equal."""
    return _NOT_ALPHANUMERIC.sub(" ", normalize_header(text)).strip()


_HEADERS: dict[str, str] = {
    normalize_header(header): name
    for headers in (ENGLISH_HEADERS, FRENCH_HEADERS)
    for name, header in headers.items()
}
# Names clients give the columns instead of the help article's, written as loose keys.
_ALIAS_NAMES: dict[str, tuple[str, ...]] = {
    "customer_name": (
        "customer", "customer name", "company", "company name", "account name", "client", "nom client",
        "nom du client", "societe", "nom societe", "nom de la societe", "raison sociale", "entreprise",
        "nom entreprise", "nom de l entreprise", "denomination",
    ),
    "customer_external_id": (
        "customer code", "customer id", "customer number", "customer reference", "account number",
        "code client", "id client", "identifiant client", "numero client", "numero de client", "n client",
        "no client", "n de client", "num client", "ref client", "reference client", "compte client",
        "code tiers", "code d identification", "code identification externe",
    ),
    "external_id": (
        "contact id", "contact code", "contact reference", "contact identifier", "reference", "ref",
        "reference contact", "ref contact", "id contact", "identifiant", "identifiant contact",
        "code contact", "n contact", "numero contact",
    ),
    "email": (
        "email", "e mail", "mail", "courriel", "mel", "email address", "e mail address", "adresse mail",
        "adresse email", "adresse e mail", "adresse electronique", "adresse courriel",
    ),
    "first_name": ("first name", "firstname", "given name", "prenom"),
    "last_name": ("last name", "lastname", "surname", "family name", "nom", "nom de famille"),
    "phone": (
        "phone", "phone number", "telephone", "telephone number", "mobile", "mobile phone", "cell",
        "tel", "tel portable", "tel fixe", "portable", "gsm", "numero de telephone", "n de telephone",
        "ligne directe",
    ),
    "occupation": ("role", "position", "job title", "function", "fonction", "poste", "service", "metier"),
    "is_main": (
        "main", "primary", "primary contact", "principal", "contact par defaut", "par defaut",
    ),
}  # fmt: skip
_ALIASES: dict[str, str] = {
    **{loose_key(header): name for header, name in _HEADERS.items()},
    **{loose_key(api): name for name, api in API_NAMES.items()},
    **{alias: name for name, aliases in _ALIAS_NAMES.items() for alias in aliases},
}
# A guess needs this similarity (difflib's ratio) to an alias, and a key at least this long.
GUESS_CUTOFF = 0.8
GUESS_MIN_LENGTH = 4
# Keys this long are sentences (a title line, a note), never a column name to guess.
GUESS_MAX_LENGTH = 40
# A cell this long is no header: it is neither looked up nor kept in the caches below.
MAX_HEADER_LENGTH = 200


def known_field(header: str) -> tuple[str, str] | None:
    """(field, how) for a header the import knows by its article name or an alias, without guessing."""
    return _known_field(header) if len(header) <= MAX_HEADER_LENGTH else None


# Cached: header detection looks up every cell of a file's first rows, many of them repeated.
@functools.lru_cache(maxsize=4096)
def _known_field(header: str) -> tuple[str, str] | None:
    key = normalize_header(header)
    if not key:
        return None
    if key in _HEADERS:
        return _HEADERS[key], BY_HEADER
    name = _ALIASES.get(loose_key(header))
    return (name, BY_ALIAS) if name else None


def guessed_field(header: str) -> str | None:
    """The field whose alias `header` is a close spelling of ("Telephonne" → phone), if one is."""
    return _guessed_field(header) if len(header) <= MAX_HEADER_LENGTH else None


@functools.lru_cache(maxsize=1024)
def _guessed_field(header: str) -> str | None:
    key = loose_key(header)
    if not GUESS_MIN_LENGTH <= len(key) <= GUESS_MAX_LENGTH or any(char.isdigit() for char in key):
        return None
    close = difflib.get_close_matches(key, _ALIASES, n=1, cutoff=GUESS_CUTOFF)
    return _ALIASES[close[0]] if close else None


@dataclass(frozen=True)
class ColumnMap:
    positions: dict[str, int]  # field -> 0-based column index (the first column giving it)
    headers: dict[str, str]  # field -> the header exactly as written in the file (for error messages)
    unknown: list[str]  # headers that match no field (ignored, warned about); blank headers are not listed
    missing: list[str]  # mandatory fields absent, as their English headers
    how: dict[str, str] = field(default_factory=dict)  # field -> BY_MAPPING, BY_HEADER, BY_ALIAS or BY_GUESS
    # field -> every column giving it, when more than one does (the first is read, the others ignored)
    repeats: dict[str, list[int]] = field(default_factory=dict)
    ignored_at: list[int] = field(default_factory=list)  # the columns the mapping says to ignore
    row: tuple[str, ...] = ()  # the header row as written, for the keys of a mapping (column_key)

    @property
    def duplicated(self) -> list[str]:
        """Every column after the first that gives an already-given field, as written, left to right."""
        later = sorted(index for indexes in self.repeats.values() for index in indexes[1:])
        return [self.row[index].strip() for index in later]

    @property
    def ignored(self) -> list[str]:
        """The headers the mapping says to ignore, as written."""
        return [self.row[index].strip() for index in self.ignored_at]

    @property
    def missing_fields(self) -> list[str]:
        return [name for name in MANDATORY_FIELDS if name not in self.positions]

    @property
    def last_position(self) -> int:
        """The index of the last column giving a field; -1 when none does."""
        return max(self.positions.values(), default=-1)


def column_letter(index: int) -> str:
    """A 0-based column index as Excel names the column: 0 → "A", 26 → "AA"."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def column_number(letters: str | bytes) -> int:
    """An Excel column's letters as a 1-based number: "A" → 1, "GR" → 200, "XFD" → 16,384."""
    number = 0
    for letter in letters.upper().encode() if isinstance(letters, str) else letters.upper():
        number = number * 26 + letter - ord("A") + 1
    return number


COLUMN_LIST = _("{letters} and {last}")
# A mapping names a column by its header, or, where two columns share a header, by its letter so.
_POSITION_KEY = re.compile(r"column:([a-z]{1,3})")


def column_list(indexes: list[int]) -> str:
    """ "C and F": columns by their letters, in the active language."""
    letters = [column_letter(index) for index in indexes]
    if len(letters) == 1:
        return letters[0]
    return str(COLUMN_LIST.format(letters=", ".join(letters[:-1]), last=letters[-1]))


def position_key(index: int) -> str:
    """How a mapping names the column at `index` regardless of its header: "column:F"."""
    return f"column:{column_letter(index)}"


def column_key(headers: list[str] | tuple[str, ...], index: int) -> str:
    """How a mapping names the column at `index`: its header as written, or its position_key when another
    column of the row has the same header (so that the two can be told apart)."""
    key = normalize_header(headers[index])
    if sum(1 for header in headers if normalize_header(header) == key) > 1:
        return position_key(index)
    return headers[index].strip()


def key_position(key: str) -> int | None:
    """The column index a mapping's key names by its position ("column:F" → 5), else None."""
    match = _POSITION_KEY.fullmatch(normalize_header(key))
    return None if match is None else column_number(match[1]) - 1


def mapping_keys(columns: dict[str, str | None] | None) -> dict[str, str | None]:
    """A mapping's columns ({header as written: field or None}) keyed as headers are compared."""
    return {normalize_header(header): name for header, name in (columns or {}).items()}


def map_columns(
    headers: list[str], mapped: dict[str, str | None] | None = None, *, guess: bool = True
) -> ColumnMap:
    """Which column gives which field. `mapped`: a mapping's columns, keyed by `mapping_keys`; a key naming
    a column by its position comes before one naming its header."""
    mapped = mapped or {}
    by_position = {key_position(key): name for key, name in mapped.items() if key.startswith("column:")}
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    how: dict[str, str] = {}
    unknown: list[str] = []
    ignored_at: list[int] = []
    repeats: dict[str, list[int]] = {}
    for index, header in enumerate(headers):
        key = normalize_header(header)
        if not key:
            continue
        chosen = index in by_position or key in mapped
        if chosen:
            name, found = by_position[index] if index in by_position else mapped[key], BY_MAPPING
        else:
            name, found = known_field(header) or (None, "")
            if name is None and guess:
                name, found = guessed_field(header), BY_GUESS
        if chosen and name is None:
            ignored_at.append(index)
        elif name is None:
            unknown.append(header.strip())
        elif name in positions:
            repeats.setdefault(name, [positions[name]]).append(index)
        else:
            positions[name], written[name], how[name] = index, header.strip(), found
    missing = [ENGLISH_HEADERS[name] for name in MANDATORY_FIELDS if name not in positions]
    return ColumnMap(positions, written, unknown, missing, how, repeats, ignored_at, tuple(headers))


def recognised_count(texts: list[str], mapped: dict[str, str | None]) -> int:
    """How many cells of a row name a column the import knows (or the mapping names): a header row
    holds at least two. No guessing: a row of data must not look like headers."""
    return sum(1 for text in texts if text and (known_field(text) is not None or _is_mapped(text, mapped)))


def _is_mapped(text: str, mapped: dict[str, str | None]) -> bool:
    return bool(mapped) and len(text) <= MAX_HEADER_LENGTH and normalize_header(text) in mapped


def has_mandatory_columns(headers: list[str]) -> bool:
    return not map_columns(headers).missing
