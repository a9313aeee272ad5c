"""How contact values are stored: one definition for the admin, the import and the API."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

EMAIL_REQUIRED = "An email address is required."
INVALID_EMAIL = '"{value}" is not a valid email address.'
INVALID_PHONE = (
    '"{value}" is not a valid phone number (write it with its country code, e.g. +33 6 12 34 56 78).'
)
INVALID_REGION = '"{value}" is not a known country code for phone numbers.'
# Messages quote what the client wrote, at most this many characters of it.
SHOWN_LENGTH = 60


def shown(value: object) -> str:
    """A value as a message quotes it: on one line (control characters written as escapes, `\\n`),
    and shortened past SHOWN_LENGTH characters, so that a 1 MB cell gives a readable message."""
    raw = str(value)
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in raw[:SHOWN_LENGTH])
    if len(raw) > SHOWN_LENGTH or len(text) > SHOWN_LENGTH:
        return f"{text[: SHOWN_LENGTH - 1]}… ({len(raw):,} characters)"
    return text


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased; raises ValidationError when it is not an email address."""
    email = (value or "").strip().lower()
    if not email:
        raise ValidationError(EMAIL_REQUIRED, code="required")
    try:
        if len(email) > 254:  # the column's size, and the RFC's limit
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            INVALID_EMAIL.format(value=shown((value or "").strip())), code="invalid_email"
        ) from None
    return email


def normalize_phone(value: str, region: str) -> str:
    """E.164 (`+33612345678`) or blank; raises ValidationError when it cannot be a phone number.

    A number without a country prefix is read in `region`; so is one written as bare digits that
    start with the region's country code (a spreadsheet drops the `+`: `33612345678`).
    """
    raw = (value or "").strip()
    if not raw:
        return ""
    candidates = [raw]
    if raw.isdigit():
        candidates.append("+" + raw)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValidationError(INVALID_PHONE.format(value=shown(raw)), code="invalid_phone")


def validate_phone_region(value: str) -> None:
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(INVALID_REGION.format(value=shown(value)), code="invalid_region")
