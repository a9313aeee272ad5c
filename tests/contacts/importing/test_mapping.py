"""A mapping in the shape of `--mapping FILE.json`: what it accepts, what it refuses, in one line."""

import pytest

from contacts.importing.mapping import (
    BAD_COLUMNS,
    BAD_HEADER_ROW,
    BAD_MAIN_CONTACT,
    BAD_OCCUPATION,
    BAD_SHEET,
    BAD_VALUES,
    NOT_AN_OBJECT,
    UNKNOWN_KEY,
    UNKNOWN_TARGET,
    Mapping,
    MappingInvalid,
    mapping_from_json,
)
from contacts.importing.reading import Layout

ISSUE_EXAMPLE = {
    "sheet": "Contacts",
    "header_row": 3,
    "columns": {"Mail": "Contact's Email", "SIRET": None},
    "values": {"Occupation": {"Direction financière": "ACCOUNTING"}},
}
IMPORT_COLUMNS = (
    '"Customer name", "External identification code", "Contact\'s Identifier code", "Contact\'s Email", '
    '"Contact\'s First Name", "Contact\'s Last Name", "Contact\'s Telephone Number", "Occupation", '
    '"Main Contact"'
)


def test_the_issues_example_reads_as_field_names():
    mapping = mapping_from_json(ISSUE_EXAMPLE)

    assert mapping == Mapping(
        sheet="Contacts",
        header_row=3,
        columns={"Mail": "email", "SIRET": None},
        values={"occupation": {"Direction financière": "ACCOUNTING"}},
    )
    assert mapping.to_json() == ISSUE_EXAMPLE
    assert mapping.layout() == Layout(
        sheet="Contacts", header_row=3, columns={"Mail": "email", "SIRET": None}
    )


def test_every_key_is_optional():
    assert mapping_from_json({}) == Mapping()


def test_columns_may_be_named_by_french_headers_or_field_names_and_values_in_any_words():
    mapping = mapping_from_json(
        {
            "columns": {"Adresse": "email du contact", "Portable": "phone"},
            "values": {"Contact principal": {"Principal": "oui", "Adjoint": False}, "occupation": {"RH": ""}},
        }
    )

    assert mapping.columns == {"Adresse": "email", "Portable": "phone"}
    assert mapping.values == {"is_main": {"Principal": True, "Adjoint": False}, "occupation": {"RH": ""}}


def test_value_meanings_are_looked_up_without_case_accents_or_spaces():
    mapping = mapping_from_json({"values": {"Occupation": {"Direction  Financière": "comptabilité"}}})

    assert mapping.value_meanings("occupation") == {"directionfinanciere": "ACCOUNTING"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], NOT_AN_OBJECT),
        ({"sheets": "Contacts"}, UNKNOWN_KEY.format(key="sheets")),
        ({"sheet": 3}, BAD_SHEET),
        ({"header_row": 0}, BAD_HEADER_ROW.format(limit=20)),
        ({"header_row": 21}, BAD_HEADER_ROW.format(limit=20)),
        ({"header_row": "3"}, BAD_HEADER_ROW.format(limit=20)),
        ({"header_row": True}, BAD_HEADER_ROW.format(limit=20)),
        ({"columns": ["Mail"]}, BAD_COLUMNS),
        (
            {"columns": {"Mail": "Fax"}},
            UNKNOWN_TARGET.format(column="Mail", target="Fax", columns=IMPORT_COLUMNS),
        ),
        ({"values": {"Email": {"a": "b"}}}, BAD_VALUES),
        ({"values": {"Occupation": "ACCOUNTING"}}, BAD_VALUES),
        (
            {"values": {"Occupation": {"DAF": "Boss"}}},
            BAD_OCCUPATION.format(value="DAF", target="Boss", allowed="ACCOUNTING, SALES, PURCHASER, PAYER"),
        ),
        (
            {"values": {"Main Contact": {"P": "maybe"}}},
            BAD_MAIN_CONTACT.format(value="P", target="maybe"),
        ),
        ({"values": {"Main Contact": {"P": None}}}, BAD_MAIN_CONTACT.format(value="P", target=None)),
    ],
)
def test_a_mapping_that_cannot_be_used_says_what_to_fix_in_one_line(data, message):
    with pytest.raises(MappingInvalid) as raised:
        mapping_from_json(data)

    assert str(raised.value) == message
    assert "\n" not in message
