"""CSV text: encodings, delimiters, quoted fields, line endings; what is not text is refused."""

import csv
import io
import random

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contacts.importing.reading import EMPTY, NOT_SPREADSHEET, NUL_BYTES, Layout, read_table
from tests.helpers import MANDATORY_HEADERS, MANDATORY_ROW, csv_bytes, refusal

CURLY = "\u2019"


# Encodings


def test_utf8_csv_is_read_with_the_file_row_numbers():
    data = csv_bytes([MANDATORY_ROW, ["Zoé", "C2", "K2", "zoe@acme.com"]], MANDATORY_HEADERS)

    table = read_table(data, filename="contacts.csv")

    assert (table.format, table.headers, table.sheet_name, table.header_row) == (
        "csv",
        MANDATORY_HEADERS,
        None,
        1,
    )
    assert table.rows == [(2, MANDATORY_ROW), (3, ["Zoé", "C2", "K2", "zoe@acme.com"])]
    assert table.dates == {}  # a CSV has no types: no cell was a date


def test_utf8_bom_is_not_part_of_the_first_header():
    data = b"\xef\xbb\xbf" + csv_bytes([["Société", "C1", "K1", "a@b.fr"]], MANDATORY_HEADERS)

    table = read_table(data)

    assert table.headers == MANDATORY_HEADERS
    assert table.rows == [(2, ["Société", "C1", "K1", "a@b.fr"])]


def test_windows_1252_csv_from_french_excel_is_detected():
    headers = [
        "Nom du client",
        f"Code d{CURLY}identification externe",
        "Identifiant du contact",
        "Email du contact",
    ]
    data = csv_bytes(
        [["Société Générale", "C1", "K1", f"o{CURLY}brien@sg.fr"]], headers, delimiter=";", encoding="cp1252"
    )
    assert b"\xe9" in data  # é
    assert b"\x92" in data  # the curly apostrophe in Windows-1252

    table = read_table(data)

    assert table.headers == headers
    assert table.rows == [(2, ["Société Générale", "C1", "K1", f"o{CURLY}brien@sg.fr"])]


def test_mixed_encodings_read_utf8_and_windows_1252_bytes_alike():
    data = csv_bytes([["Zoé", "C1", "K1", "a@b.fr"]], MANDATORY_HEADERS) + csv_bytes(
        [["Chloé", "C2", "K2", "c@b.fr"]], headers=None, encoding="cp1252"
    )

    table = read_table(data)

    assert [values[0] for _, values in table.rows] == ["Zoé", "Chloé"]


def test_utf16_text_from_excel_unicode_export_is_read():
    data = csv_bytes([["Zoé", "C1", "K1", "a@b.fr"]], MANDATORY_HEADERS, delimiter="\t", encoding="utf-16")

    table = read_table(data)

    assert table.rows == [(2, ["Zoé", "C1", "K1", "a@b.fr"])]


# Not text


@pytest.mark.parametrize("filename", ["contacts.csv", "contacts.xlsx"])
def test_random_bytes_are_not_a_spreadsheet(filename):
    data = random.Random(3).randbytes(4096)

    assert refusal(data, filename=filename) == NOT_SPREADSHEET.format(name=f'"{filename}"')


def test_binary_text_full_of_control_characters_is_not_a_spreadsheet():
    pick = random.Random(5).choice
    data = bytes(pick(b"\x01\x02\x03\x04abc") for _ in range(2000))

    assert refusal(data) == NOT_SPREADSHEET.format(name="The file")


def test_nul_bytes_are_refused():
    data = csv_bytes([["Acme\x00", "C1", "K1", "a@b.fr"]], MANDATORY_HEADERS)

    assert refusal(data) == NUL_BYTES


# Layout


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_delimiter_is_sniffed_whatever_the_line_endings(delimiter, newline):
    data = csv_bytes(
        [["Acme, Inc; Ltd", "C1", "K1", "a@b.fr"]], MANDATORY_HEADERS, delimiter=delimiter, newline=newline
    )

    table = read_table(data)

    assert table.headers == MANDATORY_HEADERS
    assert table.rows == [(2, ["Acme, Inc; Ltd", "C1", "K1", "a@b.fr"])]


def test_quoted_fields_keep_delimiters_quotes_and_line_breaks_and_count_as_one_row():
    data = (
        b"Customer name;\"External identification code\";Contact's Identifier code;Contact's Email\r\n"
        b'"Acme; ""the best""";C1;"K\r\n1";a@b.fr\r\n'
        b"Bolt;C2;K2;b@b.fr\r\n"
    )

    table = read_table(data)

    assert table.rows == [
        (2, ['Acme; "the best"', "C1", "K\r\n1", "a@b.fr"]),
        (3, ["Bolt", "C2", "K2", "b@b.fr"]),
    ]


def test_the_delimiter_is_the_header_rows_whatever_title_lines_come_first():
    data = csv_bytes(
        [["Export, March"], ["Contacts"], MANDATORY_HEADERS, MANDATORY_ROW], headers=None, delimiter=";"
    )

    table = read_table(data)

    assert (table.header_row, table.rows) == (3, [(4, MANDATORY_ROW)])


def test_delimiters_inside_quoted_headers_do_not_count():
    data = b'"Customer name, legal";"External identification code";"Contact\'s Identifier code";'
    data += b"Contact's Email\na,b;c;d;e\n"

    table = read_table(data)

    assert table.headers == ["Customer name, legal", *MANDATORY_HEADERS[1:]]
    assert table.rows == [(2, ["a,b", "c", "d", "e"])]


def test_a_tie_between_delimiters_in_the_header_is_settled_by_the_data_rows():
    data = b"a,b;c,d;e\n1;2;3\n4;5;6\n7;8;9\n"

    table = read_table(data, layout=Layout(header_row=1))

    assert table.headers == ["a,b", "c,d", "e"]
    assert table.rows == [(2, ["1", "2", "3"]), (3, ["4", "5", "6"]), (4, ["7", "8", "9"])]


def test_a_one_megabyte_cell_is_read_whole():
    notes = "x" * 1_000_000
    data = csv_bytes([[*MANDATORY_ROW, notes]], [*MANDATORY_HEADERS, "Notes"])

    table = read_table(data)

    assert table.rows[0][1][4] == notes


def test_formulas_in_csv_cells_are_plain_text():
    table = read_table(csv_bytes([['=HYPERLINK("http://x")', "+C1", "-K1", "@a"]], MANDATORY_HEADERS))

    assert table.rows == [(2, ['=HYPERLINK("http://x")', "+C1", "-K1", "@a"])]


# Properties


_CELL = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12)


@hypothesis_settings(max_examples=150)
@given(
    st.lists(_CELL, min_size=2, max_size=5),
    st.lists(st.lists(_CELL, min_size=1, max_size=5), max_size=8),
    st.sampled_from([",", ";", "\t"]),
)
def test_csv_cells_come_back_trimmed_with_the_row_numbers_of_the_file(first, others, delimiter):
    # The first line has a delimiter, as a real header row has: it decides the delimiter.
    rows = [first, *others]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    stripped = [[cell.strip() for cell in row] for row in rows]
    filled = [(number, row) for number, row in enumerate(stripped, start=1) if any(row)]

    if not filled:
        assert refusal(buffer.getvalue().encode()) == EMPTY
        return
    table = read_table(buffer.getvalue().encode(), layout=Layout(header_row=filled[0][0]))

    headers = filled[0][1]
    while not headers[-1]:
        headers = headers[:-1]
    expected = []
    for number, row in filled[1:]:
        values = (row + [""] * len(headers))[: len(headers)]
        if any(values):
            expected.append((number, values))
    # The last rows may be a footer (a lone number, "Total"): set apart, still read.
    footer = [(number, (cells + [""] * len(headers))[: len(headers)]) for number, cells in table.footer]
    assert (table.headers, [*table.rows, *footer]) == (headers, expected)
