"""What the words of a cell mean: the occupations and the main contact, in English and French.

Every face shares them: the spreadsheet import, the bulk API and the single-contact API read a cell or a
value through these, so "Comptabilité" is ACCOUNTING and "oui" is yes wherever it is written.
"""

import functools
import re

from django.utils.translation import gettext_lazy as _

from contacts.models import Contact
from contacts.services.rows import comparable_name

OCCUPATION_MAX_LENGTH = Contact._meta.get_field("occupation").max_length

# The words a Main Contact cell may hold, compared without case or accents (comparable_name): English,
# French, French Excel's VRAI/FAUX, and 1.0 as a number exported to text.
TRUE_WORDS = frozenset({"1", "1.0", "1,0", "yes", "y", "true", "oui", "o", "vrai", "x"})
FALSE_WORDS = frozenset({"0", "0.0", "0,0", "no", "n", "false", "non", "faux"})
OCCUPATIONS = tuple(Contact.Occupation.values)
# The words for each occupation, English and French, compared without case or accents (comparable_name).
OCCUPATION_WORDS: dict[str, tuple[str, ...]] = {
    "ACCOUNTING": (
        *("accounting", "accountant", "accounts", "comptabilite", "comptable", "compta", "finance"),
        *("comptab", "cpta"),  # abbreviations (a trailing "." is left out: "Compta.")
    ),
    "SALES": ("sales", "sale", "ventes", "vente", "commercial", "commerciale", "commerciaux", "cial", "vte"),
    "PURCHASER": (
        "purchaser",
        "purchasing",
        "purchases",
        "buyer",
        "achats",
        "achat",
        "acheteur",
        "acheteuse",
    ),
    "PAYER": ("payer", "payment", "payments", "payeur", "paiement", "paiements", "reglement", "reglements"),
}
# What Excel shows in a cell whose formula failed, in English and French Excel: calamine reads these cells
# of an .xlsx as blank (the reader puts the text back), a CSV export writes the text.
EXCEL_ERRORS = frozenset(
    {
        *("#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"),
        *("#VALEUR!", "#NOM?", "#NOMBRE!", "#NUL!", "#PROPAGATION!", "#CALCUL!"),
    }
)
EXCEL_ERROR = _("Excel shows an error in this cell ({error}); fix the formula or type the value.")
# How Excel writes a long number in a General cell of a CSV: one digit, its decimals, E+ and two digits.
_SCIENTIFIC = re.compile(r"[0-9](?:[.,][0-9]+)?[eE]\+[0-9]{2}")
SHORTENED_NUMBER = _(
    '"{value}" is a number Excel shortened to scientific notation, losing its digits; format the column '
    "as Text in Excel and type the values again."
)
# A true-or-false value as people read it, wherever it is shown (the admin's pages, the mapping step).
YES, NO = _("yes"), _("no")
_OCCUPATION_OF_WORD = {word: name for name, words in OCCUPATION_WORDS.items() for word in words}


def cell_text(value: object) -> str:
    """A raw value (JSON's numbers and booleans too) as the trimmed text the checks read."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip()


def yes_no(value: object) -> str:
    """ "yes" or "no", in the active language."""
    return str(YES if value else NO)


def shortened_number(text: str) -> str | None:
    """The error for a code or phone Excel wrote in scientific notation ("1.23457E+11"), or None."""
    if "+" in text and _SCIENTIFIC.fullmatch(text):
        return str(SHORTENED_NUMBER.format(value=text))
    return None


def occupation_value(text: str) -> str | None:
    """The occupation a trimmed text names ("Comptabilité" → ACCOUNTING), "" when blank, None when none."""
    if len(text) > OCCUPATION_MAX_LENGTH * 2:
        return None  # and not kept in the cache
    return _occupation_value(text)


# Cached: a file's 100,000 cells hold a handful of distinct values (names of occupations, yes and no).
@functools.lru_cache(maxsize=1024)
def _occupation_value(text: str) -> str | None:
    if not text:
        return ""
    key = comparable_name(text).rstrip(".")
    return _OCCUPATION_OF_WORD.get(key) or (key.upper() if key.upper() in OCCUPATIONS else None)


def parse_main_contact(value: object) -> bool | None:
    """True, False, or None for a blank value; raises ValueError for anything else."""
    if value is None or isinstance(value, bool):
        return value
    text = cell_text(value)
    if not text:
        return None
    key = comparable_name(text)
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    raise ValueError(text)
