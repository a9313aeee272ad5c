import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contacts.normalization import (
    COMMON_EMAIL,
    CONTROL_CHARACTERS,
    EMAIL_REFUSED_BY_PROVIDER,
    EMAIL_REQUIRED,
    EMAIL_UNWRAPPED,
    INVALID_EMAIL,
    INVALID_PHONE,
    SEVERAL_EMAILS,
    UNDELIVERABLE_EMAIL,
    _e164_of_common_form,
    _e164_parsed,
    _valid,
    deliverable,
    email_of_cell,
    normalize_email,
    normalize_phone,
    normalize_provider_email,
    one_line_text,
    shown,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("612345678", "FR", "+33612345678"),
        ("33612345678", "FR", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "FR", "+33612345678"),
        ("+44 20 7946 0958", "FR", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("  ", "FR", ""),
        ("", "FR", ""),
    ],
)
def test_phones_are_stored_in_e164_read_in_the_organization_region(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["12", "not a phone", "+33 6 12", "06 12 34 56 78 90 12"])
def test_unparseable_phone_is_a_validation_error(raw):
    with pytest.raises(ValidationError) as error:
        normalize_phone(raw, "FR")

    assert error.value.messages == [INVALID_PHONE.format(value=raw)]


def test_email_is_trimmed_and_lower_cased():
    assert normalize_email("  Jane.Doe@ACME.Example ") == "jane.doe@acme.example"


@pytest.mark.parametrize("raw", [" ", None])
def test_blank_email_is_required(raw):
    with pytest.raises(ValidationError) as error:
        normalize_email(raw)

    assert error.value.messages == [EMAIL_REQUIRED]


@pytest.mark.parametrize("raw", ["bob@acme", "no-at-sign", "a b@c.example"])
def test_invalid_email_is_a_validation_error(raw):
    with pytest.raises(ValidationError) as error:
        normalize_email(raw)

    assert error.value.messages == [INVALID_EMAIL.format(value=raw.strip())]


def test_messages_quote_a_huge_cell_shortened_with_its_length():
    huge = "x" * 1_000_000

    with pytest.raises(ValidationError) as raised:
        normalize_email(huge)

    message = raised.value.messages[0]
    assert len(message) < 150
    assert "… (1,000,000 characters)" in message


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("0\n0", "0\\n0"), ("a\tb\r", "a\\tb\\r"), ("Zoé\x00", "Zoé\\x00"), ("Zoé Dupont", "Zoé Dupont")],
)
def test_messages_quote_control_characters_as_escapes_on_one_line(value, quoted):
    assert shown(value) == quoted


REGIONS = ["FR", "BE", "DE", "CH", "GB", "US", "IT", "ES", "RU", "AR", "BR", "NL", "GP"]
separator = st.sampled_from(["", " ", ".", "-", "/", "\u00a0", "(", ")"])


@st.composite
def written_phone(draw):
    """A phone as people write it: national (with or without the prefix) or international."""
    digits = draw(st.text("0123456789", min_size=4, max_size=14))
    start = draw(
        st.sampled_from(
            ["", "0", "+", "+33", "+1", "+44", "+39", "+7", "+590", "00", "33", "32", "49", "1", "44"]
        )
    )
    pieces = [start]
    for digit in digits:
        pieces.append(draw(separator) if draw(st.booleans()) else "")
        pieces.append(digit)
    return "".join(pieces)


@hypothesis_settings(max_examples=3000, deadline=None)
@given(written_phone(), st.sampled_from(REGIONS))
def test_the_fast_reading_of_common_phone_forms_agrees_with_phonenumbers(raw, region):
    fast = _e164_of_common_form(raw, region)

    if fast is not None:
        assert fast == _e164_parsed(raw, region)


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("06 12 34 56 78", "FR"),
        ("+33 6 12 34 56 78", "FR"),
        ("0470 12 34 56", "BE"),
        ("+1 212-555-0123", "FR"),
        ("33612345678", "FR"),
        ("612345678", "FR"),
        ("32470123456", "BE"),
    ],
)
def test_common_phone_forms_are_read_without_the_full_parser(raw, region):
    assert _e164_of_common_form(raw, region) == _e164_parsed(raw, region) is not None


email_part = st.text("abcxyz019_+-.", min_size=1, max_size=12)
email_domain = st.lists(st.text("abz09-", min_size=1, max_size=8), min_size=1, max_size=3)
email_tld = st.text("abcz09-", min_size=1, max_size=5)


@hypothesis_settings(max_examples=2000, deadline=None)
@given(email_part, email_domain, email_tld)
def test_addresses_taken_without_djangos_validator_are_ones_it_accepts(user, labels, tld):
    email = f"{user}@{'.'.join([*labels, tld])}"

    if COMMON_EMAIL.fullmatch(email):
        validate_email(email)  # raises if the shortcut took an address Django refuses
        assert deliverable(email)


@pytest.mark.parametrize(
    "raw",
    ["ops@localhost", "x@[127.0.0.1]", '"ann"@client.example', "a" * 65 + "@client.example"],
)
def test_addresses_django_takes_but_mail_cannot_be_sent_to_are_refused(raw):
    validate_email(raw)  # Django's syntax check alone lets them through

    with pytest.raises(ValidationError) as error:
        normalize_email(raw)

    assert error.value.messages == [UNDELIVERABLE_EMAIL.format(value=shown(raw))]


@pytest.mark.parametrize("raw", ["x@[IPv6:2001:db8::1]", '"a b"@client.example', "ann@client.example."])
def test_other_forms_mail_providers_refuse_are_refused_too(raw):
    with pytest.raises(ValidationError):
        normalize_email(raw)


@pytest.mark.parametrize(
    "raw", ["a@b.co", "o'brien@client.example", "jean@exämple.fr", "a" * 64 + "@x.example"]
)
def test_unusual_but_deliverable_addresses_are_kept(raw):
    assert normalize_email(raw) == raw.lower()


def test_a_plus_followed_by_zero_is_left_to_the_full_parser():
    # No country code starts with 0: "+020…" is not Egypt's 20 (hypothesis found it).
    assert _e164_of_common_form("+020200000000", "FR") is None


@hypothesis_settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from([33, 32, 49, 41, 34, 39, 31, 351, 212, 590, 262, 1, 44, 7, 61, 81, 55, 54, 52, 86]),
    st.text("0123456789", min_size=1, max_size=15).filter(lambda digits: not digits.startswith("0")),
)
def test_the_one_pattern_validity_check_agrees_with_phonenumbers(country_code, national):
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))

    assert _valid(country_code, national) == phonenumbers.is_valid_number(number)


@pytest.mark.parametrize(
    ("country_code", "national", "valid"),
    [(33, "612345678", True), (33, "123456789", True), (33, "61234567", False), (33, "012345678", False)],
)
def test_french_numbers_are_valid_and_wrong_lengths_are_not(country_code, national, valid):
    assert _valid(country_code, national) is valid


# --- Email cells and control characters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "address"),
    [
        ("Jeanne Roux <Jeanne.Roux@Example.com>", "jeanne.roux@example.com"),
        ('"Roux, Jeanne" <jeanne.roux@example.com>', "jeanne.roux@example.com"),
        ("<jeanne.roux@example.com>", "jeanne.roux@example.com"),
        ("mailto:jeanne.roux@example.com", "jeanne.roux@example.com"),
        ("MAILTO:jeanne.roux@example.com?subject=Facture", "jeanne.roux@example.com"),
        ("Jeanne <mailto:jeanne.roux@example.com>", "jeanne.roux@example.com"),
    ],
)
def test_an_address_pasted_with_a_name_or_as_a_link_is_read_with_a_warning(cell, address):
    email, warnings = email_of_cell(cell)

    assert email == address
    assert warnings == (EMAIL_UNWRAPPED.format(value=cell, email=address),)


@pytest.mark.parametrize(
    "cell",
    [
        "a@x.fr; b@x.fr",
        "a@x.fr, b@x.fr",
        "a@x.fr b@x.fr",
        "a@x.fr\nb@x.fr",
        "Jeanne <a@x.fr>, Paul <b@x.fr>",
    ],
)
def test_two_addresses_in_one_cell_are_refused_with_what_to_do(cell):
    with pytest.raises(ValidationError) as raised:
        email_of_cell(cell)

    assert raised.value.code == "several_emails"
    assert raised.value.messages == [SEVERAL_EMAILS.format(value=shown(cell))]
    assert (
        "one address per contact: put the second on its own row with its own identifier code"
        in (raised.value.messages[0])
    )


@pytest.mark.parametrize(
    ("address", "character"), [("jo#hn@x.fr", "#"), ("a&b@x.fr", "&"), ("c/d@x.fr", "/")]
)
def test_an_address_the_mail_provider_refuses_is_kept_with_a_warning_naming_the_character(address, character):
    assert email_of_cell(address) == (
        address,
        (EMAIL_REFUSED_BY_PROVIDER.format(email=address, character=character),),
    )


@pytest.mark.parametrize("address", ["o'brien@x.fr", "first.last+tag@x.fr", "a_b-c@x.fr", "A.B@X.FR"])
def test_an_address_the_mail_provider_accepts_gives_no_warning(address):
    assert email_of_cell(address) == (address.lower(), ())


@pytest.mark.parametrize(
    ("cell", "address"),
    [("bob@acme", "bob@acme"), ("Jeanne Roux", "Jeanne Roux"), ("Jeanne <bob@acme>", "bob@acme")],
)
def test_an_email_cell_without_a_valid_address_is_refused_as_normalize_email_refuses_the_address(
    cell, address
):
    with pytest.raises(ValidationError) as by_cell:
        email_of_cell(cell)
    with pytest.raises(ValidationError) as by_rule:
        normalize_email(address)

    assert by_cell.value.messages == by_rule.value.messages


@pytest.mark.parametrize("control", ["\x01", "\x07", "\x1f", "\x7f", "\x85", "\x9b"])
def test_an_email_with_a_control_character_is_refused_even_in_a_quoted_local_part(control):
    for address in (f"a{control}b@x.fr", f'"a{control}b"@x.fr'):
        with pytest.raises(ValidationError):
            normalize_email(address)


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("Jean\nPierre", "Jean Pierre"),
        ("Jean\r\n Pierre", "Jean Pierre"),
        ("Jean\tPierre", "Jean Pierre"),
        ("Zo\x00é", "Zoé"),
        ("\x01Camille\x07", "Camille"),
        ("Mar\x85tin", "Mar tin"),
        ("Ma\x9btin", "Matin"),
        ("Line\u2028break", "Line break"),
        ("Zoé\u00a0Dupont", "Zoé\u00a0Dupont"),
        ("Camille", "Camille"),
    ],
)
def test_names_lose_control_characters_and_line_breaks_become_spaces(name, stored):
    assert one_line_text(name) == stored
    assert not CONTROL_CHARACTERS.search(one_line_text(name))


@given(st.emails())
@hypothesis_settings(max_examples=200)
def test_the_api_refuses_exactly_the_addresses_the_import_warns_about(address):
    """One rule, two outcomes: the import stores with a warning what an API write refuses."""
    try:
        stored, warnings = email_of_cell(address)
    except ValidationError:
        return  # refused by both: normalize_email's own rule
    warned = [w for w in warnings if "mail provider refuses" in w]

    if not warned:
        assert normalize_provider_email(stored) == stored
        return
    with pytest.raises(ValidationError) as refused:
        normalize_provider_email(stored)
    assert refused.value.code == "provider_refused"
    assert refused.value.messages == warned
