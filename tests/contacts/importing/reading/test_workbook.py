"""Excel (.xlsx, .xls) and OpenDocument workbooks, read in the memory- and time-capped child process."""

import datetime
import io
import struct
import zipfile

import openpyxl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contacts.importing.reading import (
    DAMAGED,
    EMPTY,
    NO_SHEET_WITH_HEADERS,
    NO_SUCH_SHEET,
    TOO_DEMANDING,
    TOO_MANY_COLUMNS,
    TOO_WIDE,
    Layout,
    read_table,
)
from contacts.importing.reading.sheet_xml import column_beyond, column_number
from tests.helpers import (
    FIXTURES,
    MANDATORY_HEADERS,
    MANDATORY_ROW,
    ods_bytes,
    refusal,
    with_entity_bomb,
    workbook_bytes,
    xlsx_with_sheet_of_spaces,
)

CURLY = "\u2019"


# Cells and sheets


def test_xlsx_text_that_looks_like_a_formula_stays_text_and_formulas_give_their_computed_value():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([*MANDATORY_HEADERS, "Notes"])
    sheet.append([*MANDATORY_ROW, "=1+2"])  # a formula without a computed value, as written by a program
    sheet.append([*MANDATORY_ROW, None])
    sheet["E3"].value = '=HYPERLINK("http://evil")'
    sheet["E3"].data_type = "s"  # typed as text in Excel
    buffer = io.BytesIO()
    workbook.save(buffer)

    table = read_table(buffer.getvalue())

    assert [values[4] for _, values in table.rows] == ["", '=HYPERLINK("http://evil")']


def test_xlsx_numbers_are_read_as_digits_and_dates_as_iso_text():
    rows = [
        [*MANDATORY_HEADERS, "Contact's Telephone Number", "Main Contact", "Since", "Ratio", "Called at"],
        ["Acme", 1005, 1005.0, "a@b.fr", 33612345678, True, datetime.date(2024, 3, 1), 3.5, None],
        ["Bolt", 2**53, 7, "b@b.fr", 612345678, False, datetime.datetime(2024, 3, 1, 9, 30), 0.1, "x"],
    ]

    table = read_table(workbook_bytes({"Contacts": rows}))

    assert table.format == "xlsx"
    assert table.sheet_name == "Contacts"
    assert table.rows == [
        (2, ["Acme", "1005", "1005", "a@b.fr", "33612345678", "true", "2024-03-01", "3.5", ""]),
        (
            3,
            [
                "Bolt",
                "9007199254740992",
                "7",
                "b@b.fr",
                "612345678",
                "false",
                "2024-03-01 09:30:00",
                "0.1",
                "x",
            ],
        ),
    ]


def test_xlsx_first_visible_sheet_with_the_mandatory_columns_is_chosen():
    data = workbook_bytes(
        {
            "Read me": [["Fill in the next sheet"]],
            "Empty": [],
            "Old": [MANDATORY_HEADERS, ["Old", "C0", "K0", "old@b.fr"]],
            "Contacts": [MANDATORY_HEADERS, MANDATORY_ROW],
            "Later": [MANDATORY_HEADERS, ["Later", "C9", "K9", "l@b.fr"]],
        },
        hidden=("Old",),
    )

    table = read_table(data)

    assert (table.sheet_name, table.rows) == ("Contacts", [(2, MANDATORY_ROW)])


def test_xlsx_data_placed_lower_and_to_the_right_keeps_the_sheet_row_and_column_numbers():
    data = workbook_bytes(
        {"Contacts": [MANDATORY_HEADERS, MANDATORY_ROW, [], ["Bolt", "C2", "K2", "b@b.fr"]]}, start="C3"
    )

    table = read_table(data)

    # Columns A and B are blank: a column's index is its letter's (messages name columns by letter).
    assert table.headers == ["", "", *MANDATORY_HEADERS]
    assert table.rows == [(4, ["", "", *MANDATORY_ROW]), (6, ["", "", "Bolt", "C2", "K2", "b@b.fr"])]
    assert table.columns.positions["customer_name"] == 2


def test_the_layout_names_the_sheet_and_its_header_row():
    data = workbook_bytes(
        {"A": [MANDATORY_HEADERS, MANDATORY_ROW], "B": [["Title"], ["two", "x"], ["2", "y"]]}
    )

    table = read_table(data, layout=Layout(sheet="B", header_row=2))

    assert (table.sheet_name, table.headers, table.rows) == ("B", ["two", "x"], [(3, ["2", "y"])])
    assert table.skipped_sheets == table.unread_sheets == []


def test_a_layout_naming_a_sheet_the_file_lacks_names_its_sheets():
    data = workbook_bytes({"Contacts mars": [MANDATORY_HEADERS, MANDATORY_ROW], "Notes": [["x"]]})

    assert refusal(data, layout=Layout(sheet="Contacts")) == NO_SUCH_SHEET.format(
        sheet="Contacts", sheets='"Contacts mars", "Notes"'
    )


def test_instruction_sheets_before_the_data_are_skipped_and_later_sheets_not_read():
    data = workbook_bytes(
        {
            "Mode d'emploi": [["Remplissez l'onglet Contacts"], ["Email du contact : obligatoire"]],
            "Vide": [],
            "Contacts": [["Contacts au 1er mars"], [], MANDATORY_HEADERS, MANDATORY_ROW],
            "TCD": [["Customer name", "Count"], ["Acme", 1]],
        }
    )

    table = read_table(data)

    assert (table.sheet_name, table.header_row, table.rows) == ("Contacts", 3, [(4, MANDATORY_ROW)])
    assert table.sheet_names == ["Mode d'emploi", "Vide", "Contacts", "TCD"]
    assert (table.skipped_sheets, table.unread_sheets) == (["Mode d'emploi", "Vide"], ["TCD"])


def test_without_a_complete_header_row_the_sheet_naming_most_columns_is_read():
    data = workbook_bytes(
        {
            "Pivot": [["Customer name", "Contact's Email"], ["Acme", 1]],
            "Contacts": [
                ["Société", "Code", "Identifiant", "Adresse", "Tél."],
                ["Acme", "C1", "K1", "a@b.fr", "0612345678"],
            ],
        }
    )

    table = read_table(data)

    assert (table.sheet_name, table.header_row, table.columns.missing) == (
        "Contacts",
        1,
        ["External identification code", "Contact's Email"],
    )
    assert table.rows == [(2, ["Acme", "C1", "K1", "a@b.fr", "0612345678"])]
    assert (table.skipped_sheets, table.unread_sheets) == (["Pivot"], [])


def test_no_sheet_with_a_header_row_names_every_sheet_looked_at():
    data = workbook_bytes(
        {"Mode d'emploi": [["Notes"]], "Contacts": [["Acme", "C1"], ["Bolt", "C2"]]}, hidden=()
    )

    assert refusal(data) == NO_SHEET_WITH_HEADERS.format(rows=20, sheets='"Mode d\'emploi", "Contacts"')


def test_excel_dates_are_marked_by_row_and_column():
    rows = [
        ["Title", datetime.date(2024, 3, 1)],  # above the header: not a data row
        MANDATORY_HEADERS,
        ["Acme", "C1", datetime.datetime(2024, 12, 3), "a@b.fr"],
        MANDATORY_ROW,
        ["Bolt", datetime.time(12, 30), "K2", "b@b.fr"],
    ]

    table = read_table(workbook_bytes({"Contacts": rows}))

    assert table.rows[0] == (3, ["Acme", "C1", "2024-12-03", "a@b.fr"])
    assert {row: table.dates[row] for row in (3, 5)} == {3: (2,), 5: (1,)}
    assert 4 not in table.dates


def test_a_header_far_right_in_a_small_workbook_is_refused_naming_the_column_cap():
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("S")
    sheet.append([*MANDATORY_HEADERS, *[None] * (16384 - 5), "Z"])
    for number in range(3000):
        sheet.append(["Acme", "C1", f"K{number}", f"k{number}@b.fr"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert len(buffer.getvalue()) < 100_000

    message = refusal(buffer.getvalue(), filename="wide.xlsx")

    assert message == TOO_WIDE.format(name='"wide.xlsx"', column="XFD", limit=200)
    assert "more than 200 columns" in message


def test_a_header_wider_than_the_cap_but_cheap_to_read_is_refused_with_the_cap(settings):
    settings.CONTACT_IMPORT_MAX_COLUMNS = 10
    data = workbook_bytes({"S": [[*MANDATORY_HEADERS, *[None] * 20, "Z"], MANDATORY_ROW]})

    assert refusal(data) == TOO_MANY_COLUMNS.format(row=1, count=25, limit=10)


def test_xls_fixture_is_read_from_its_second_sheet():
    table = read_table((FIXTURES / "contacts.xls").read_bytes(), filename="contacts.xls")

    assert table.format == "xls"
    assert table.sheet_name == "Contacts"
    assert table.headers[2] == f"Contact{CURLY}s Identifier code"
    assert table.rows == [
        (2, ["Société Générale", "1005", "C-1", "anne@example.com", "33612345678", "true", "2024-03-01"]),
        (4, [f"O{CURLY}Brien & Co", "C42", "7", "bob@example.com", "612345678", "false", ""]),
    ]


def test_ods_is_read():
    data = ods_bytes(
        {"Notes": [["hello"]], "Contacts": [[], MANDATORY_HEADERS, ["Acme", 1005, 3.5, "a@b.fr"]]}
    )

    table = read_table(data, filename="contacts.ods")

    assert (table.format, table.sheet_name) == ("ods", "Contacts")
    assert table.rows == [(3, ["Acme", "1005", "3.5", "a@b.fr"])]


def test_a_workbook_without_any_cell_is_empty():
    assert refusal(workbook_bytes({"One": [], "Two": [[None]]})) == EMPTY


# Damaged and hostile workbooks


def _xls_with_its_workbook_stream_zeroed() -> bytes:
    xls = (FIXTURES / "contacts.xls").read_bytes()
    return xls[:512] + bytes(2048) + xls[512 + 2048 :]  # the stream starts after the 512-byte OLE2 header


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + b"\x00" * 100,
        # Cut short: no central directory.
        workbook_bytes({"Sheet": [MANDATORY_HEADERS, MANDATORY_ROW]})[:-200],
        _xls_with_its_workbook_stream_zeroed(),
    ],
)
def test_a_damaged_workbook_is_refused(data):
    assert refusal(data, filename="contacts.xlsx") == DAMAGED.format(name='"contacts.xlsx"')


def test_a_zip_bomb_lying_about_its_size_is_stopped_by_the_parser():
    data = xlsx_with_sheet_of_spaces(8 * 1024 * 1024)
    declared = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml").file_size
    lying = data.replace(struct.pack("<I", declared), struct.pack("<I", 100_000))
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("xl/worksheets/sheet1.xml").file_size == 100_000

    assert refusal(lying, filename="bomb.xlsx") == DAMAGED.format(name='"bomb.xlsx"')


def test_an_xml_entity_bomb_is_refused_without_expanding():
    bomb = with_entity_bomb(workbook_bytes({"Sheet": [MANDATORY_HEADERS, ["BOMB", "C1", "K1", "a@b.fr"]]}))

    assert refusal(bomb, filename="bomb.xlsx") == DAMAGED.format(name='"bomb.xlsx"')


def test_a_stray_cell_in_the_last_excel_cell_is_refused_naming_its_column():
    # calamine would allocate a dense range of 17 billion cells and abort the process reading it.
    workbook = openpyxl.Workbook()
    workbook.active.append(MANDATORY_HEADERS)
    workbook.active.append(MANDATORY_ROW)
    workbook.active["XFD1048576"] = "stray"
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert len(buffer.getvalue()) < 10_000

    assert refusal(buffer.getvalue(), filename="big.xlsx") == TOO_WIDE.format(
        name='"big.xlsx"', column="XFD", limit=200
    )
    assert read_table(workbook_bytes({"S": [MANDATORY_HEADERS, MANDATORY_ROW]})).rows == [(2, MANDATORY_ROW)]


def test_an_ods_repeating_a_cell_over_the_whole_sheet_is_refused():
    row = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>R</text:p></table:table-cell>'
    )
    bomb = (
        '<table:table-row table:number-rows-repeated="1048576"><table:table-cell office:value-type="string"'
        ' table:number-columns-repeated="16384"><text:p>x</text:p></table:table-cell>'
    )
    source = zipfile.ZipFile(io.BytesIO(ods_bytes({"S": [MANDATORY_HEADERS, ["R"]]})))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            archive.writestr(info, content.replace(row.encode(), bomb.encode()))

    assert refusal(buffer.getvalue(), filename="bomb.ods") == DAMAGED.format(name='"bomb.ods"')


def test_a_workbook_taking_too_long_is_refused(monkeypatch):
    monkeypatch.setattr("contacts.importing.reading.workbook.WORKBOOK_TIMEOUT", 0.001)

    assert refusal(
        workbook_bytes({"S": [MANDATORY_HEADERS, MANDATORY_ROW]}), filename="slow.xlsx"
    ) == TOO_DEMANDING.format(name='"slow.xlsx"')


# Properties


@hypothesis_settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=-(10**15), max_value=10**15), min_size=1, max_size=10))
def test_xlsx_integral_numbers_come_back_as_their_digits(numbers):
    data = workbook_bytes({"S": [["n", "as float"], *([number, float(number)] for number in numbers)]})

    table = read_table(data, layout=Layout(header_row=1))

    read = [values for _, values in [*table.rows, *table.footer]]
    assert read == [[str(number), str(number)] for number in numbers]


def test_a_merged_title_and_hidden_columns_are_read_and_excel_errors_read_as_blank_cells():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Contacts"
    sheet["A1"] = "Contacts au 1er mars"
    sheet.merge_cells("A1:E1")
    sheet.append([*MANDATORY_HEADERS, "Notes"])
    sheet.append([*MANDATORY_ROW, "#N/A"])  # openpyxl writes it as Excel's error value; calamine gives ""
    sheet.column_dimensions["E"].hidden = True
    sheet.row_dimensions[3].hidden = True
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert sheet["E3"].data_type == "e"

    table = read_table(buffer.getvalue())

    assert (table.header_row, table.rows) == (2, [(3, [*MANDATORY_ROW, ""])])


def test_the_column_beyond_the_cap_is_found_in_any_sheet_and_only_beyond_it():
    wide = openpyxl.Workbook()
    wide.active["A1"] = "x"
    wide.create_sheet("Second")["GS7"] = "stray"  # column 201
    narrow = openpyxl.Workbook()
    narrow.active["GR1"] = "last column read"  # column 200
    buffers = {name: io.BytesIO() for name in ("wide", "narrow")}
    wide.save(buffers["wide"])
    narrow.save(buffers["narrow"])

    assert (column_number("A"), column_number("GR"), column_number("XFD")) == (1, 200, 16384)
    assert column_beyond(buffers["wide"].getvalue(), 200) == "GS"
    assert column_beyond(buffers["narrow"].getvalue(), 200) == ""
    assert column_beyond(b"not a zip", 200) == ""
