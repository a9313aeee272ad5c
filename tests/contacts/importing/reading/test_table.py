"""What both readers share: the header row, the data rows under it, which header row is accepted, the
row limit. Shown on CSV files (and on workbooks where a message names the sheet)."""

import gc

from contacts.importing.reading import (
    MISSING_COLUMNS,
    NO_ACCEPTED_HEADERS,
    NO_SHEET_WITH_COLUMNS,
    TOO_MANY_ROWS,
    read_table,
)
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


# Which header row is accepted


def test_missing_mandatory_columns_are_named():
    data = csv_bytes([["Acme", "a@b.fr", ""]], ["Customer name", "Email du contact", "Notes"])

    assert refusal(data) == MISSING_COLUMNS.format(
        columns='"External identification code", "Contact\'s Identifier code"'
    )


def test_a_workbook_without_a_sheet_with_the_mandatory_columns_names_the_first_sheet():
    data = workbook_bytes({"Read me": [["Notes"]], "Contacts": [MANDATORY_HEADERS[:3], MANDATORY_ROW[:3]]})

    assert refusal(data) == NO_SHEET_WITH_COLUMNS.format(
        sheet="Read me", columns=", ".join(f'"{header}"' for header in MANDATORY_HEADERS)
    )


def test_a_custom_header_check_that_nothing_passes_gives_a_generic_message():
    assert (
        refusal(csv_bytes([MANDATORY_ROW], MANDATORY_HEADERS), accept_headers=lambda headers: False)
        == NO_ACCEPTED_HEADERS
    )
    assert (
        refusal(workbook_bytes({"S": [MANDATORY_HEADERS]}), accept_headers=lambda headers: False)
        == NO_ACCEPTED_HEADERS
    )


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
