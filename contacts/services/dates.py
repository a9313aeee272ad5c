"""Dates where text was meant: a code, a phone or an email that Excel turned into a date.

Excel reads `03-12` typed in a General cell as 3 December; the workbook reader then gives the date
(ISO text) and names the field in `RowInput.dates`, and the value is refused with a message that says
what happened. A CSV carries no cell types: a code that only *looks* like a date may be real, so it is
a warning (and, for an unknown customer code, part of the error); a phone that looks like a date is
not a phone, so its error says why.
"""

import datetime
import re

from django.utils import formats
from django.utils.translation import gettext_lazy as _

from contacts.normalization import shown

# The fields where a date is never meant: the identifier codes, the email and the phone.
DATE_REFUSED_FIELDS = frozenset({"customer_external_id", "external_id", "email", "phone"})
EXCEL_DATE = _("Excel turned this cell into a date ({date}); format the column as Text and type it again.")
PHONE_LOOKS_LIKE_A_DATE = _(
    '"{value}" is a date, not a phone number: if Excel turned the number into a date, format the column '
    "as Text and type it again."
)

_MONTH = r"(?:jan|f[eé]v|feb|mar|apr|avr|may|mai|jun|jui|jul|aug|ao[uû]|sep|oct|nov|d[eé]c)[a-zéû]*\.?"
# The forms Excel writes a date in when it saves a sheet as CSV (its display formats, French and
# English) and the ISO form: 2026-12-03, 03/12/2026, 3.12.26, 03/12, 03-déc, 3-Dec-26, Dec-03.
_DATE_LIKE = re.compile(
    rf"\d{{4}}-\d{{1,2}}-\d{{1,2}}(?:[ T]\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?"
    rf"|\d{{1,2}}[/.-]\d{{1,2}}(?:[/.-]\d{{2,4}})?"
    rf"|\d{{1,2}}[-/ ]{_MONTH}(?:[-/ ]\d{{2,4}})?"
    rf"|{_MONTH}[-/ ]\d{{1,4}}",
    re.IGNORECASE,
)
# What a date starts with. Most codes (`CT-1001`, `CUST-00017`) fail this test and never reach the
# pattern: 40 ns a code instead of 400 (the checks test it before calling looks_like_a_date).
DATE_FIRST = frozenset("0123456789adfjmnosADFJMNOS")


def looks_like_a_date(text: str) -> bool:
    """True for a text in one of the forms Excel gives a date (never for a plain number)."""
    return text[:1] in DATE_FIRST and not text.isdigit() and _DATE_LIKE.fullmatch(text) is not None


def excel_date_problem(text: str) -> str:
    """The error for a cell Excel typed as a date; `text` is the reader's ISO form of it."""
    return str(EXCEL_DATE.format(date=_shown_date(text)))


def phone_date_problem(text: str) -> str:
    return str(PHONE_LOOKS_LIKE_A_DATE.format(value=shown(text)))


def _shown_date(text: str) -> str:
    """The date as the active language writes it short (03/12/2026 in French), or the text as read."""
    try:
        date = datetime.date.fromisoformat(text[:10])
    except ValueError:
        return shown(text)
    return formats.date_format(date, "SHORT_DATE_FORMAT")
