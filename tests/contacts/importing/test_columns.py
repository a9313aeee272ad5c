import pytest
from hypothesis import given
from hypothesis import strategies as st

from contacts.importing.columns import (
    BY_ALIAS,
    BY_GUESS,
    BY_MAPPING,
    ENGLISH_HEADERS,
    FIELD_LABELS,
    FIELDS,
    FRENCH_HEADERS,
    MANDATORY_FIELDS,
    column_key,
    has_mandatory_columns,
    map_columns,
    mapping_keys,
    normalize_header,
    recognised_count,
)

CURLY = "\u2019"  # the apostrophe of the help article
MANDATORY_ENGLISH = [ENGLISH_HEADERS[field] for field in MANDATORY_FIELDS]


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ("Customer name", "customer_name"),
        ("customer NAME", "customer_name"),
        ("  Customer   name  ", "customer_name"),
        ("Customer\u00a0name", "customer_name"),  # non-breaking space from a web page
        ("Customer name (mandatory)", "customer_name"),
        ("Customer name*", "customer_name"),
        ("Customer name * (mandatory)", "customer_name"),
        ("External identification code (Mandatory)", "customer_external_id"),
        (f"Contact{CURLY}s Identifier code (mandatory)", "external_id"),
        ("Contact\u2018s Email", "email"),
        ("Contact`s Email", "email"),
        ("Contact\u02bcs Email", "email"),
        ("Contact\u00b4s Email", "email"),
        ("\ufeffContact's Email", "email"),  # a BOM left on the first header
        ("CONTACT'S FIRST NAME", "first_name"),
        ("Contact's  Last Name", "last_name"),
        ("Contact's Telephone Number", "phone"),
        ("occupation", "occupation"),
        ("Main Contact", "is_main"),
        ("Nom du client (obligatoire)", "customer_name"),
        (f"Code d{CURLY}identification externe *", "customer_external_id"),
        ("Identifiant du contact", "external_id"),
        ("Email du contact", "email"),
        ("Prénom du contact", "first_name"),
        ("Prenom du contact", "first_name"),
        ("PRÉNOM DU CONTACT", "first_name"),
        ("Nom du contact", "last_name"),
        ("Telephone du contact", "phone"),
        ("Rôle", "occupation"),
        ("Contact principal", "is_main"),
    ],
)
def test_header_variants_map_to_their_field(written, field):
    columns = map_columns(["x", written])

    assert columns.positions == {field: 1}
    assert columns.headers == {field: written.strip()}


def test_every_field_has_an_english_and_a_french_header():
    assert set(ENGLISH_HEADERS) == set(FRENCH_HEADERS) == set(FIELDS)
    assert map_columns(list(ENGLISH_HEADERS.values())).positions == {
        field: i for i, field in enumerate(FIELDS)
    }
    assert map_columns(list(FRENCH_HEADERS.values())).positions == {
        field: i for i, field in enumerate(FIELDS)
    }


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("  Contact\u2019s   EMAIL  (mandatory) * ", "contact's email"),
        ("Prénom\tdu\ncontact", "prenom du contact"),
        ("Customer name (obligatoire)", "customer name"),
        ("Occupation (optional)", "occupation"),
        ("***", ""),
        ("", ""),
        ("zero\u200bwidth", "zerowidth"),
    ],
)
def test_normalize_header(text, key):
    assert normalize_header(text) == key


def test_missing_mandatory_columns_are_named_in_english_in_order():
    columns = map_columns(["Email du contact", "Occupation"])

    assert columns.missing == ["Customer name", "External identification code", "Contact's Identifier code"]
    assert has_mandatory_columns(["Email du contact", "Occupation"]) is False


def test_all_mandatory_columns_in_any_order_and_language():
    headers = [
        "Identifiant du contact",
        "Customer name (mandatory)",
        "Contact's Email",
        "Code d'identification externe",
    ]

    assert map_columns(headers).missing == []
    assert has_mandatory_columns(headers) is True


def test_unknown_columns_are_listed_as_written_and_blank_headers_ignored():
    columns = map_columns([*MANDATORY_ENGLISH, "  Notes  ", "", "   ", "Contact's Fax"])

    assert columns.unknown == ["Notes", "Contact's Fax"]
    assert columns.missing == []
    assert len(columns.positions) == 4


def test_a_field_given_twice_keeps_the_first_column_and_lists_the_repeats():
    columns = map_columns([*MANDATORY_ENGLISH, "Email du contact", f"CONTACT{CURLY}S EMAIL"])

    assert columns.positions["email"] == 3
    assert columns.headers["email"] == "Contact's Email"
    assert columns.duplicated == ["Email du contact", f"CONTACT{CURLY}S EMAIL"]
    assert columns.unknown == []


def test_column_map_is_immutable():
    columns = map_columns(MANDATORY_ENGLISH)

    with pytest.raises(AttributeError):
        columns.missing = []  # type: ignore[misc]


@given(st.text())
def test_normalize_header_never_raises_and_is_idempotent(text):
    key = normalize_header(text)

    assert normalize_header(key) == key
    assert key == key.strip()


@given(st.lists(st.text(), max_size=20))
def test_map_columns_never_raises_and_accounts_for_every_column(headers):
    columns = map_columns(headers)

    assert all(0 <= index < len(headers) for index in columns.positions.values())
    named = len(columns.positions) + len(columns.unknown) + len(columns.duplicated)
    assert named == sum(1 for header in headers if normalize_header(header))
    assert has_mandatory_columns(headers) == (columns.missing == [])


# Names clients give the columns


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ("Mail", "email"),
        ("E-mail", "email"),
        ("Courriel", "email"),
        ("Adresse e-mail", "email"),
        ("Tél.", "phone"),
        ("Téléphone", "phone"),
        ("Portable", "phone"),
        ("Mobile", "phone"),
        ("Société", "customer_name"),
        ("Raison sociale", "customer_name"),
        ("Code client", "customer_external_id"),
        ("N° client", "customer_external_id"),
        ("Référence", "external_id"),
        ("ID contact", "external_id"),
        ("Référence contact", "external_id"),
        ("Principal", "is_main"),
        ("Prénom", "first_name"),
        ("Nom", "last_name"),
        ("Rôle", "occupation"),
        ("Poste", "occupation"),
        ("customerExternalId", "customer_external_id"),
    ],
)
def test_names_clients_give_the_columns_are_aliases(written, field):
    columns = map_columns(["x", written])

    assert columns.positions == {field: 1}
    assert columns.how == {field: BY_ALIAS}


@pytest.mark.parametrize(
    ("written", "field"),
    [("Telephonne", "phone"), ("Adress mail", "email"), ("Code clients", "customer_external_id")],
)
def test_a_close_spelling_of_an_alias_is_a_guess(written, field):
    columns = map_columns([written])

    assert (columns.positions, columns.how) == ({field: 0}, {field: BY_GUESS})


@pytest.mark.parametrize(
    "written",
    ["Notes", "SIRET", "Code postal", "Ville", "Date de création", "Mail 2024", "x" * 300, "Adresse"],
)
def test_other_names_are_neither_aliases_nor_guesses(written):
    columns = map_columns([written])

    assert (columns.positions, columns.unknown) == ({}, [written])


def test_guessing_can_be_turned_off():
    assert map_columns(["Telephonne"], guess=False).unknown == ["Telephonne"]


def test_a_mapping_comes_first_and_may_ignore_a_column():
    mapped = mapping_keys({"mail": None, "Adresse": "email", "Société": "customer_name"})

    columns = map_columns(["Mail", "ADRESSE", "Société", "SIRET"], mapped)

    assert columns.positions == {"email": 1, "customer_name": 2}
    assert columns.how == {"email": BY_MAPPING, "customer_name": BY_MAPPING}
    assert (columns.ignored, columns.unknown) == (["Mail"], ["SIRET"])


def test_a_row_of_data_names_no_column():
    data = [
        "Boulangerie Martin",
        "AC-1001",
        "CT-1",
        "camille@boulangerie.example",
        "06 12 34 56 78",
        "Comptable",
    ]

    assert recognised_count(data, {}) == 0
    assert recognised_count(["Société", "Mail", "Notes", ""], {}) == 2
    assert recognised_count(["Société", "Adresse"], mapping_keys({"adresse": "email"})) == 2


def test_every_field_has_a_short_label():
    assert set(FIELD_LABELS) == set(FIELDS)


def test_a_mapping_names_a_column_by_its_letter_before_its_header():
    headers = ["Contact's Email", "Nom", "Contact's Email"]

    columns = map_columns(headers, {"column:a": None, "column:c": "email"})

    assert (columns.positions, columns.ignored, columns.repeats) == (
        {"email": 2, "last_name": 1},
        headers[:1],
        {},
    )


def test_two_columns_giving_one_field_are_named_by_letter_in_a_mapping_of_them():
    headers = ["Contact's Email", "Nom", "CONTACT\u2019S EMAIL"]

    assert [column_key(headers, index) for index in range(3)] == ["column:A", "Nom", "column:C"]
    assert map_columns(headers).repeats == {"email": [0, 2]}
