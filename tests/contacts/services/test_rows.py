"""How messages name rows and items: one word for one, a list for several, shortened past ten."""

import pytest

from contacts.services.rows import comparable_code, row_list, row_phrase


@pytest.mark.parametrize(
    ("rows", "label", "text"),
    [
        ([7], "row", "row 7"),
        ([3, 5], "row", "rows 3 and 5"),
        ([3, 5, 9], "row", "rows 3, 5 and 9"),
        ([0, 1], "item", "items 0 and 1"),
        ([4], "item", "item 4"),
        (list(range(2, 14)), "row", "rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more"),
        (list(range(0, 11)), "item", "items 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 1 more"),
    ],
)
def test_rows_are_listed_in_words(rows, label, text):
    assert row_list(rows, label) == text


def test_one_row_is_named_alone():
    assert (row_phrase(7, "row"), row_phrase(0, "item")) == ("row 7", "item 0")


@pytest.mark.parametrize("code", ["ac-1016", "AC 1016", "Ac\u20131016", "ac1016", "AC - 1016"])
def test_codes_compare_without_case_spaces_or_dashes(code):
    assert comparable_code(code) == comparable_code("AC-1016") == "ac1016"


@pytest.mark.parametrize("code", ["1234", "001234", "0001234", "00 1234"])
def test_numeric_codes_compare_without_their_leading_zeros(code):
    assert comparable_code(code) == comparable_code("001234") == "1234"


def test_leading_zeros_of_a_code_with_letters_are_kept():
    assert (comparable_code("AC-001"), comparable_code("0000")) == ("ac001", "0")
