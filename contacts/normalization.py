"""How contact values are stored: one definition for the admin, the import and the API."""

import functools
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneMetadata

EMAIL_REQUIRED = _("An email address is required.")
INVALID_EMAIL = _('"{value}" is not a valid email address.')
UNDELIVERABLE_EMAIL = _(
    '"{value}" cannot receive mail: write an address at a domain name, such as name@company.com '
    '(no IP address, "localhost", quotes or trailing dot; at most 64 characters before the @).'
)
INVALID_PHONE = _(
    '"{value}" is not a valid phone number (write it with its country code, e.g. +33 6 12 34 56 78).'
)
INVALID_REGION = _('"{value}" is not a known country code for phone numbers.')
# Nearly every address: plain ASCII, which Django's validate_email and `deliverable` accept without a
# doubt (4 times faster than them; tests/contacts/test_normalization.py holds them together). The rest
# goes to them.
COMMON_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.ASCII
)
IDENTIFIER_UNPRINTABLE = _(
    '"{value}" holds a line break, a tab or another invisible character, which an identifier code '
    "cannot contain; remove it."
)
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


# Control characters (C0 with tab, CR and LF; DEL; C1) and the Unicode line separators: nothing a
# one-line field (names, identifier codes, email, phone) may store. Line breaks and tabs inside a name
# (Alt+Enter in an Excel cell) become a space; the others are invisible and go.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_RUN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BREAKS = frozenset("\t\n\x0b\x0c\r\x85\u2028\u2029")
_SPACES = re.compile(r" {2,}")


def one_line_text(value: str) -> str:
    """A free-text one-line value (a name) without control characters: breaks and tabs become a space.

    Names are stripped rather than refused: the characters carry nothing a person can see, and a row
    should not fail for a line break typed inside an Excel cell. Identifier codes and emails are refused
    instead (`identifier_problem`, `normalize_email`): changing them would name something else.
    """
    if value.isprintable():  # nearly every name: one C-level scan
        return value
    if not CONTROL_CHARACTERS.search(value):
        return value  # other non-printables (a no-break space) are not control characters
    cleaned = _CONTROL_RUN.sub(lambda run: " " if _BREAKS.intersection(run.group()) else "", value)
    return _SPACES.sub(" ", cleaned).strip()


def identifier_problem(value: str) -> str:
    """Why an identifier code cannot be stored ("": it can): a character nobody can see or type back."""
    return "" if value.isprintable() else IDENTIFIER_UNPRINTABLE.format(value=shown(value))


def check_identifier(value: str) -> None:
    problem = identifier_problem(value)
    if problem:
        raise ValidationError(problem, code="unprintable")


def deliverable(email: str) -> bool:
    """What mail providers send to, beyond Django's syntax check (which takes `ops@localhost`,
    `x@[127.0.0.1]`, `"a b"@x.example` and a trailing dot): a dotted domain name, no address literal,
    an unquoted local part of at most 64 characters, no trailing dot."""
    local, _, domain = email.rpartition("@")
    return (
        len(local) <= 64
        and not local.startswith('"')
        and "." in domain
        and not domain.startswith("[")
        and not domain.endswith(".")
    )


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased; raises ValidationError when it is not an address mail can be sent to.

    The one email rule of the admin, the import and the API: Django's validator, then `deliverable`.
    """
    email = (value or "").strip().lower()
    if not email:
        raise ValidationError(EMAIL_REQUIRED, code="required")
    if len(email) <= 254 and COMMON_EMAIL.fullmatch(email) and len(email.partition("@")[0]) <= 64:
        return email
    try:
        if len(email) > 254:  # the column's size, and the RFC's limit
            raise ValidationError("too long")
        if CONTROL_CHARACTERS.search(email):  # validate_email lets them through in a quoted local part
            raise ValidationError("control character")
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            INVALID_EMAIL.format(value=shown((value or "").strip())), code="invalid_email"
        ) from None
    if not deliverable(email):
        raise ValidationError(
            UNDELIVERABLE_EMAIL.format(value=shown((value or "").strip())), code="undeliverable_email"
        )
    return email


# --- An email cell as people fill it: pasted from a mail program, or with two addresses ---------------

EMAIL_UNWRAPPED = _('"{value}" is read as the address "{email}"; the rest of the cell is left out.')
EMAIL_SEPARATOR_LEFT_OUT = _(
    '"{value}" ends with "{separator}", which is left out: the address read is "{email}".'
)
SEVERAL_EMAILS = _(
    '"{value}" holds more than one email address; one address per contact: put the second on its own '
    "row with its own identifier code."
)
EMAIL_REFUSED_BY_PROVIDER = _(
    'The address "{email}" has "{character}" before the @, which the platform\'s mail provider refuses: '
    "nothing can be sent to it; ask the client for another address."
)
# `Jeanne Roux <jeanne.roux@example.com>` (a display name, as mail programs copy an address) and
# `mailto:jeanne.roux@example.com` (a link's target).
_NAMED_ADDRESS = re.compile(r"[^<>@]*<\s*([^<>\s]+)\s*>", re.ASCII)
_MAILTO = re.compile(r"mailto:\s*([^?\s]+)(?:\?\S*)?", re.IGNORECASE)
_BETWEEN_ADDRESSES = re.compile(r"[\s;,]")
# What the mail provider accepts before the @ (it refuses the rest of what the RFC allows).
_PROVIDER_REFUSES = re.compile(r"[^a-zA-Z0-9+_'.-]")


def email_of_cell(value: str) -> tuple[str, tuple[str, ...]]:
    """The address an email cell holds, and warnings about it (usually none).

    `Name <addr>` and `mailto:addr` give `addr` with a warning; an address with a character the mail
    provider refuses gives a warning naming it. Raises ValidationError (normalize_email's) when there
    is no valid address, and "several_emails" when the cell holds more than one.
    """
    email = (value or "").strip().lower()
    if len(email) <= 254 and COMMON_EMAIL.fullmatch(email):  # nearly every cell: no warning possible
        return email, ()
    text = (value or "").strip()
    if text.count("@") > 1 and _BETWEEN_ADDRESSES.search(text):
        raise ValidationError(SEVERAL_EMAILS.format(value=shown(text)), code="several_emails")
    warnings = []
    # A list separator after a single address (copied from a mail program's To: line): left out.
    trimmed = text.rstrip(";, \t")
    separator = text[len(trimmed) :].strip()[:1] if trimmed != text else ""
    text = trimmed or text
    unwrapped = _unwrapped_address(text)
    if unwrapped:
        email = normalize_email(unwrapped)
        warnings.append(EMAIL_UNWRAPPED.format(value=shown(text), email=email))
    else:
        email = normalize_email(text)
    if separator:
        warnings.append(
            EMAIL_SEPARATOR_LEFT_OUT.format(value=shown(value.strip()), separator=separator, email=email)
        )
    if refused := provider_refused_character(email):
        warnings.append(EMAIL_REFUSED_BY_PROVIDER.format(email=email, character=refused))
    return email, tuple(str(warning) for warning in warnings)


def _unwrapped_address(text: str) -> str:
    """The address inside `Name <addr>` or `mailto:addr` ("": the cell is neither)."""
    match = _NAMED_ADDRESS.fullmatch(text) or _MAILTO.fullmatch(text)
    if match is None:
        return ""
    inner = match.group(1)
    mailto = _MAILTO.fullmatch(inner)  # `<mailto:addr>`
    return mailto.group(1) if mailto else inner


def provider_refused_character(email: str) -> str:
    """The first character before the @ that the mail provider refuses ("" when there is none)."""
    local = email.rpartition("@")[0]
    found = _PROVIDER_REFUSES.search(local)
    return found.group() if found else ""


def normalize_provider_email(value: str) -> str:
    """normalize_email, refusing too an address with a character the mail provider refuses.

    The same rule as email_of_cell's warning, as an error where no warning can be shown: an API write
    of one contact answers with the contact or a 400, so it cannot store the address and warn.
    """
    email = normalize_email(value)
    if refused := provider_refused_character(email):
        message = EMAIL_REFUSED_BY_PROVIDER.format(email=email, character=refused)
        raise ValidationError(message, code="provider_refused")
    return email


def normalize_phone(value: str, region: str) -> str:
    """E.164 (`+33612345678`) or blank; raises ValidationError when it cannot be a phone number.

    A number without a country prefix is read in `region`; so is one written as bare digits that
    start with the region's country code (a spreadsheet drops the `+`: `33612345678`).
    """
    raw = (value or "").strip()
    if not raw:
        return ""
    e164 = _e164_of_common_form(raw, region) or _e164_parsed(raw, region)
    if e164:
        return e164
    raise ValidationError(INVALID_PHONE.format(value=shown(raw)), code="invalid_phone")


def _e164_parsed(raw: str, region: str) -> str | None:
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
    return None


# What people write between the digits of a phone number.
SEPARATORS = str.maketrans("", "", " .-()/\u00a0")


@functools.lru_cache(maxsize=512)
def _national_prefix(region: str) -> tuple[int, str] | None:
    """(country code, national prefix) when the region's numbers drop a plain prefix (FR: 0), else None."""
    metadata = PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None or metadata.national_prefix_transform_rule or not metadata.national_prefix:
        return None
    if metadata.national_prefix_for_parsing not in (None, metadata.national_prefix):
        return None
    if phonenumbers.region_code_for_country_code(metadata.country_code) != region.upper():
        return None
    return metadata.country_code, metadata.national_prefix


@functools.lru_cache(maxsize=512)
def _prefix_for_parsing(country_code: int) -> re.Pattern | None:
    metadata = PhoneMetadata.metadata_for_region(phonenumbers.region_code_for_country_code(country_code))
    if metadata is None or not metadata.national_prefix_for_parsing:
        return None
    return re.compile(metadata.national_prefix_for_parsing)


def _e164_of_common_form(raw: str, region: str) -> str | None:
    """The two forms nearly every number is written in, without phonenumbers.parse (4 times slower).

    `06 12 34 56 78` (the region's national prefix, then the national number), `+33 6 12 34 56 78`, and
    what an Excel number cell makes of them: `612345678`, `33612345678`.
    Anything else, or anything this does not find valid, is None and goes to phonenumbers.parse; the
    answer is parse's whenever this gives one (tests/contacts/test_normalization.py compares them).
    """
    compact = raw.translate(SEPARATORS)
    if compact.startswith("+"):
        digits = compact[1:]
        if not digits.isdigit() or len(digits) > 17 or digits.startswith("0"):
            return None
        for length in (1, 2, 3):
            country_code = int(digits[:length])
            if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        national = digits[length:]
        prefix = _prefix_for_parsing(country_code)
        if prefix is not None and prefix.match(national):
            return None  # parse may strip a national prefix written after the country code
    else:
        known = _national_prefix(region)
        if known is None or not compact.isdigit() or len(compact) > 17:
            return None
        country_code, national_prefix = known
        if compact.startswith(national_prefix):
            national = compact[len(national_prefix) :]
        elif compact.startswith(str(country_code)) and not _valid(country_code, compact):
            # A spreadsheet's number cell: `33612345678`, the country code without its `+`.
            national = compact[len(str(country_code)) :]
        else:
            national = compact  # `612345678`: the prefix dropped, as a number cell drops a leading 0
    if not national or national.startswith("0"):  # Italian leading zeros and the like: parse knows
        return None
    if not _valid(country_code, national):
        return None
    return f"+{country_code}{national}"


def _valid(country_code: int, national: str) -> bool:
    """phonenumbers.is_valid_number, in one regular expression for a country code of one region."""
    patterns = _validity_patterns(country_code)
    if patterns is None:
        return phonenumbers.is_valid_number(
            phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
        )
    pattern = patterns.get(len(national))
    return pattern is not None and pattern.fullmatch(national) is not None


# The kinds of numbers phonenumbers tries one after the other to call a number valid.
NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@functools.lru_cache(maxsize=256)
def _validity_patterns(country_code: int) -> dict[int, re.Pattern] | None:
    """By length of national number: one pattern matching exactly the valid ones (None: ask phonenumbers).

    A number is valid when it matches the country's general description and one of its number types,
    each with its own possible lengths (none listed: any length). A country code shared by several
    regions (+1, +44, +7) needs the region worked out first, which phonenumbers does.
    """
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) != 1:
        return None
    metadata = PhoneMetadata.metadata_for_region(regions[0])
    if metadata is None or not metadata.general_desc or not metadata.general_desc.national_number_pattern:
        return None
    general = metadata.general_desc
    types = [
        desc
        for desc in (getattr(metadata, name) for name in NUMBER_TYPES)
        if desc is not None and desc.national_number_pattern
    ]
    patterns = {}
    for length in range(1, 18):
        if general.possible_length and length not in general.possible_length:
            continue
        kinds = [
            d.national_number_pattern for d in types if not d.possible_length or length in d.possible_length
        ]
        if kinds:
            either = "|".join(f"(?:{kind})" for kind in kinds)
            patterns[length] = re.compile(f"(?=(?:{general.national_number_pattern})\\Z)(?:{either})")
    return patterns


def validate_phone_region(value: str) -> None:
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(INVALID_REGION.format(value=shown(value)), code="invalid_region")


# A file of one region's numbers uses the same metadata patterns 100,000 times: keep them compiled
# rather than rely on the re module's small cache (about 10% of a phone number's parsing).
phonenumbers.enable_pattern_cache()


class PhoneReader:
    """normalize_phone for the many cells of one file: the stored form, or the ValidationError.

    Phones repeated in a file (a switchboard for a whole customer) are read once; a cache of every phone
    of a 100,000-row file would cost more memory than the 2 µs a common one takes to read again, so it
    holds the first CACHE_SIZE distinct ones.
    """

    CACHE_SIZE = 10_000

    def __init__(self, region: str) -> None:
        self.region = region
        self.cache: dict[str, str | ValidationError] = {}

    def __call__(self, raw: str) -> str | ValidationError:
        phone = self.cache.get(raw)
        if phone is None:
            try:
                phone = normalize_phone(raw, self.region)
            except ValidationError as invalid:
                phone = invalid
            if len(self.cache) < self.CACHE_SIZE:
                self.cache[raw] = phone
        return phone
