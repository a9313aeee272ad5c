"""What both readers share: where the header row is, the data rows under it, their width, the footer, the
row limit. Shown on CSV files (and on workbooks where sheets matter: test_workbook.py)."""

import gc
import itertools

import pytest

from contacts.importing.reading import (
    HEADER_SEARCH_ROWS,
    NO_HEADER_ROW,
    TOO_MANY_COLUMNS,
    TOO_MANY_ROWS,
    Layout,
    read_table,
)
from contacts.importing.reading import table as table_module
from contacts.importing.reading.table import scan_top
from tests.helpers import MANDATORY_HEADERS, MANDATORY_ROW, csv_bytes, refusal, workbook_bytes

# Header and data rows


def test_blank_rows_are_dropped_and_later_rows_keep_their_numbers():
    data = b"\r\n" + csv_bytes(
        [MANDATORY_ROW, [], ["", " ", "", ""], ["Bolt", "C2", "K2", "b@b.fr"]],
        MANDATORY_HEADERS,
        delimiter=";",
    )

    table = read_table(data)

    # The header is on row 2 (row 1 is blank), as Excel would show it.
    assert table.rows == [(3, MANDATORY_ROW), (6, ["Bolt", "C2", "K2", "b@b.fr"])]


def test_cells_are_trimmed_and_rows_fitted_to_the_header():
    data = csv_bytes(
        [["  Acme ", " C1", "K1"], [*MANDATORY_ROW, "extra", "more"]], [*MANDATORY_HEADERS, " ", ""]
    )

    table = read_table(data)

    assert table.headers == MANDATORY_HEADERS
    assert table.rows == [(2, ["Acme", "C1", "K1", ""]), (3, MANDATORY_ROW)]


def test_a_row_with_values_only_past_the_header_is_blank():
    table = read_table(csv_bytes([["", "", "", "", "stray note"], MANDATORY_ROW], MANDATORY_HEADERS))

    assert table.rows == [(3, MANDATORY_ROW)]


def test_header_only_gives_no_rows():
    table = read_table(csv_bytes([[], []], MANDATORY_HEADERS))

    assert (table.headers, table.rows) == (MANDATORY_HEADERS, [])


def test_duplicated_headers_are_kept_as_written_for_the_column_mapping():
    table = read_table(csv_bytes([[*MANDATORY_ROW, "other@b.fr"]], [*MANDATORY_HEADERS, "Contact's Email"]))

    assert table.headers == [*MANDATORY_HEADERS, "Contact's Email"]
    assert table.rows == [(2, [*MANDATORY_ROW, "other@b.fr"])]


def test_the_garbage_collector_is_running_again_after_reading():
    read_table(csv_bytes([MANDATORY_ROW], MANDATORY_HEADERS))
    refusal(csv_bytes([MANDATORY_ROW, MANDATORY_ROW], MANDATORY_HEADERS), max_rows=1)

    assert gc.isenabled()


# Where the header row is


def test_title_lines_and_blank_rows_above_the_header_are_skipped():
    data = csv_bytes(
        [
            ["Contacts of Acme — March"],
            [],
            ["Sent by the accounting firm", "", "2024-03-01"],
            MANDATORY_HEADERS,
            MANDATORY_ROW,
        ],
        headers=None,
        delimiter=";",
    )

    table = read_table(data)

    assert (table.header_row, table.headers) == (4, MANDATORY_HEADERS)
    assert table.rows == [(5, MANDATORY_ROW)]


def test_a_row_naming_one_known_column_is_not_a_header():
    data = csv_bytes([["Contact's Email", "list of March"], ["a@b.fr", "x"]], headers=None)

    assert refusal(data) == NO_HEADER_ROW.format(rows=HEADER_SEARCH_ROWS)


def test_the_row_naming_the_most_columns_is_the_header_the_first_of_equals():
    instructions = ["Fill in: Customer name", "Contact's Email", "Email du contact"]  # two names, a note
    data = csv_bytes([instructions, MANDATORY_HEADERS, MANDATORY_ROW, MANDATORY_HEADERS], headers=None)

    table = read_table(data)

    assert table.header_row == 2
    assert table.rows == [(3, MANDATORY_ROW), (4, MANDATORY_HEADERS)]


def test_renamed_french_headers_are_a_header_row():
    headers = ["Société", "Code client", "Référence contact", "Mail", "Tél."]
    data = csv_bytes(
        [["Export du 01/03"], headers, ["Acme", "C1", "K1", "a@b.fr", "0612345678"]], headers=None
    )

    table = read_table(data)

    assert (table.header_row, table.headers) == (2, headers)
    assert table.columns.positions == {
        "customer_name": 0,
        "customer_external_id": 1,
        "external_id": 2,
        "email": 3,
        "phone": 4,
    }


def test_a_header_on_row_20_is_found_and_one_on_row_21_is_not():
    def blank_then(count: int) -> bytes:
        return csv_bytes([["note"]] * count + [MANDATORY_HEADERS, MANDATORY_ROW], headers=None)

    assert read_table(blank_then(HEADER_SEARCH_ROWS - 1)).header_row == HEADER_SEARCH_ROWS
    assert refusal(blank_then(HEADER_SEARCH_ROWS)) == NO_HEADER_ROW.format(rows=HEADER_SEARCH_ROWS)


def test_deciding_reads_the_first_20_rows_once_each_and_no_more():
    consumed = []

    def records():
        for number in itertools.count(1):
            consumed.append(number)
            yield number, ["a", "b"]

    top = scan_top(records(), lambda number, cells: list(cells), max_columns=200)

    assert [row.number for row in top] == list(range(1, HEADER_SEARCH_ROWS + 1))
    assert consumed == list(range(1, HEADER_SEARCH_ROWS + 1))


def test_header_detection_looks_at_each_of_the_first_rows_once(monkeypatch):
    looked_at = []
    count = table_module.recognised_count

    def counting(texts, mapped):
        looked_at.append(list(texts))
        return count(texts, mapped)

    monkeypatch.setattr(table_module, "recognised_count", counting)
    rows = [[f"title {n}"] for n in range(5)] + [MANDATORY_HEADERS] + [MANDATORY_ROW] * 50

    read_table(csv_bytes(rows, headers=None))

    assert len(looked_at) == HEADER_SEARCH_ROWS
    assert looked_at[5] == MANDATORY_HEADERS


def test_the_layout_names_the_header_row_and_its_columns():
    data = csv_bytes([["Société", "Code", "Ref", "Adresse"], MANDATORY_ROW], headers=None)
    layout = Layout(
        header_row=1, columns={"Code": "customer_external_id", "Ref": "external_id", "ADRESSE": "email"}
    )

    table = read_table(data, layout=layout)

    assert table.columns.positions == {
        "customer_name": 0,
        "customer_external_id": 1,
        "external_id": 2,
        "email": 3,
    }
    assert table.columns.how == {
        "customer_name": "alias",
        "customer_external_id": "mapping",
        "external_id": "mapping",
        "email": "mapping",
    }


def test_a_header_row_the_layout_names_is_taken_even_if_it_names_no_known_column():
    table = read_table(csv_bytes([["n", "as text"], ["1", "one"]], headers=None), layout=Layout(header_row=1))

    assert (table.headers, table.rows) == (["n", "as text"], [(2, ["1", "one"])])


# Width: a cap on columns, and rows held no wider than the columns read


def test_a_header_row_wider_than_the_cap_is_refused_before_any_data_row_is_built(settings, monkeypatch):
    settings.CONTACT_IMPORT_MAX_COLUMNS = 10
    monkeypatch.setattr(table_module, "data_rows", lambda *args, **kwargs: pytest.fail("rows were built"))
    data = csv_bytes([MANDATORY_ROW] * 3, [*MANDATORY_HEADERS, *[""] * 20, "Z"])

    assert refusal(data) == TOO_MANY_COLUMNS.format(row=1, count=25, limit=10)


def test_blank_cells_past_the_cap_do_not_count():
    data = csv_bytes([MANDATORY_ROW], [*MANDATORY_HEADERS, *[""] * 1000])

    assert read_table(data).headers == MANDATORY_HEADERS


def test_the_column_cap_is_200_by_default_and_the_refusal_one_sentence(settings):
    assert settings.CONTACT_IMPORT_MAX_COLUMNS == 200
    assert TOO_MANY_COLUMNS.format(row=1, count=1_000_005, limit=200) == (
        "The header row (row 1) has cells in 1,000,005 columns, more than the 200 an import reads; delete "
        "the columns to the right of the data and send the file again."
    )


def test_rows_are_held_padded_only_to_the_last_column_read_and_shown_padded_to_the_header():
    headers = [*MANDATORY_HEADERS, "Notes", *[f"Unknown {n}" for n in range(100)]]
    data = csv_bytes([MANDATORY_ROW[:2], [*MANDATORY_ROW, "", "", "", "kept"]], headers)

    table = read_table(data)

    assert table.rows.held == [
        (2, ["Acme", "C1", "", ""]),
        (3, [*MANDATORY_ROW, "", "", "", "kept"]),
    ]
    assert [len(cells) for _number, cells in table.rows] == [len(headers)] * 2
    assert table.rows[1] == (3, [*MANDATORY_ROW, "", "", "", "kept", *[""] * 97])


# The footer


@pytest.mark.parametrize(
    "footer",
    [
        [["TOTAL : 2 contacts"]],
        [["Nb lignes", "2"]],
        [["", "", "", "2"]],
        [[], ["Total", "1 234,5"], ["Sous-total"]],
        [["Nombre de contacts : 2"]],
        [["Total"]],
        [["Total général", "", "2"]],
        [["Fin du fichier"]],
        [["*** Fin du fichier ***"]],
        [["End of file"]],
        [["2 contacts"]],
        [["2"]],
        [["Total général"], ["Fin"]],
    ],
)
def test_total_and_count_rows_below_the_data_are_a_footer(footer):
    data = csv_bytes([MANDATORY_ROW, ["Bolt", "C2", "K2", "b@b.fr"], *footer], MANDATORY_HEADERS)

    table = read_table(data)

    assert [number for number, _cells in table.rows] == [2, 3]
    assert [cells for _number, cells in table.footer] == [
        [*row, *[""] * (4 - len(row))] for row in footer if row
    ]


@pytest.mark.parametrize(
    "last",
    [
        ["", "C2", "K2", ""],  # its identifiers are filled: a data row, however short
        ["", "", "", "06 12 34 56 78"],  # a phone, not a count
        ["", "", "", "0612345678"],
        ["Total Energies", "", "", "b@b.fr"],  # a customer named Total
        ["Total", "C2", "K2", "b@b.fr"],
        ["Finance", "", "", ""],  # "fin" is a footer only as a word of its own
        ["Endives SA", "", "", ""],
    ],
)
def test_a_row_that_may_be_data_is_never_a_footer(last):
    table = read_table(csv_bytes([MANDATORY_ROW, last], MANDATORY_HEADERS))

    assert [number for number, _cells in table.rows] == [2, 3]
    assert table.footer == []


def test_only_the_last_rows_can_be_a_footer():
    data = csv_bytes([MANDATORY_ROW, ["Total"], ["Bolt", "C2", "K2", "b@b.fr"]], MANDATORY_HEADERS)

    table = read_table(data)

    assert [number for number, _cells in table.rows] == [2, 3, 4]
    assert table.footer == []


# The row limit


def test_more_data_rows_than_the_limit_are_refused():
    data = csv_bytes([MANDATORY_ROW] * 11, MANDATORY_HEADERS)

    assert read_table(data, max_rows=11).rows[-1][0] == 12
    assert refusal(data, max_rows=10) == TOO_MANY_ROWS.format(limit=10)
    assert refusal(
        workbook_bytes({"S": [MANDATORY_HEADERS] + [MANDATORY_ROW] * 11}), max_rows=10
    ) == TOO_MANY_ROWS.format(limit=10)


def test_the_row_limit_comes_from_the_settings(settings):
    settings.CONTACT_IMPORT_MAX_ROWS = 3
    data = csv_bytes([MANDATORY_ROW, [], MANDATORY_ROW, MANDATORY_ROW], MANDATORY_HEADERS)

    assert len(read_table(data).rows) == 3
    assert (
        refusal(data + csv_bytes([MANDATORY_ROW], headers=None))
        == "The file has more than 3 data rows, the limit; split it into smaller files."
    )


def test_the_default_row_limit_is_200000(settings):
    assert settings.CONTACT_IMPORT_MAX_ROWS == 200_000
    assert TOO_MANY_ROWS.format(limit=200_000) == (
        "The file has more than 200,000 data rows, the limit; split it into smaller files."
    )
