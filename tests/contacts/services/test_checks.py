"""The built-in value words of the checks: every face (file, bulk API) reads Occupation and Main Contact."""

import pytest

from contacts.services import checks
from contacts.services.planning import plan_rows
from contacts.services.values import occupation_value, parse_main_contact
from tests.factories import CustomerFactory
from tests.helpers import bulk_row as row

OCCUPATION_WORDS = [
    ("ACCOUNTING", ["Comptabilité", "COMPTABILITE", "comptable", "Compta", "finance", "Accounting"]),
    ("SALES", ["Ventes", "vente", "Commercial", "commerciale", "sales"]),
    ("PURCHASER", ["Achats", "achat", "Acheteur", "ACHETEUSE", "purchaser"]),
    ("PAYER", ["Payeur", "paiement", "Règlement", "REGLEMENT", "payer"]),
]


@pytest.mark.parametrize(
    ("text", "occupation"),
    [(text, occupation) for occupation, texts in OCCUPATION_WORDS for text in texts],
)
def test_french_and_english_occupation_words_whatever_their_case_and_accents(text, occupation):
    assert occupation_value(text) == occupation


@pytest.mark.parametrize("text", ["Direction financière", "Boss", "x" * 5000])
def test_other_occupation_words_name_none(text):
    assert occupation_value(text) is None


def test_a_blank_occupation_is_none_chosen():
    assert occupation_value("") == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.0", True),
        ("VRAI", True),
        ("vrai", True),
        ("y", True),
        ("Y", True),
        ("0.0", False),
        ("FAUX", False),
        ("Faux", False),
        ("n", False),
        ("N", False),
        (1.0, True),
        (0, False),
    ],
)
def test_main_contact_words_of_french_excel_and_numbers_written_as_text(value, expected):
    assert parse_main_contact(value) is expected


@pytest.mark.parametrize("value", ["2", "peut-être", "1.5"])
def test_other_main_contact_values_raise(value):
    with pytest.raises(ValueError, match=value):
        parse_main_contact(value)


@pytest.mark.django_db
def test_rows_with_french_values_plan_without_errors(org):
    customer = CustomerFactory(organization=org)
    rows = [
        row(2, customer, "C-1", "a@b.example", occupation="Comptabilité", is_main="VRAI"),
        row(3, customer, "C-2", "b@b.example", occupation="Acheteur", is_main="faux"),
        row(4, customer, "C-3", "c@b.example", occupation="Direction financière", is_main="1.0"),
    ]

    plan = plan_rows(organization=org, rows=rows)

    assert [(o.values["occupation"], o.values["is_main"]) for o in plan.outcomes[:2]] == [
        ("ACCOUNTING", True),
        ("PURCHASER", False),
    ]
    message = checks.OCCUPATION_INVALID.format(
        value="Direction financière", allowed="ACCOUNTING, SALES, PURCHASER, PAYER"
    )
    assert [(p.row, p.field, p.message) for p in plan.errors] == [(4, "occupation", message)]
