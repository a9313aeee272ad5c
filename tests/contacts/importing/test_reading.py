import csv
import datetime
import gc
import io
import random
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contacts.importing.reading import (
    ABNORMAL_COMPRESSION,
    DAMAGED,
    EMPTY,
    EXPANDS_TOO_MUCH,
    MISSING_COLUMNS,
    NO_ACCEPTED_HEADERS,
    NO_SHEET_WITH_COLUMNS,
    NOT_SPREADSHEET,
    NUL_BYTES,
    PASSWORD_PROTECTED,
    PDF,
    TOO_BIG,
    TOO_DEMANDING,
    TOO_MANY_ROWS,
    FileRejected,
    Table,
    read_table,
)
from tests.helpers import with_entity_bomb

FILES = Path(__file__).resolve().parent / "files"
CURLY = "\u2019"
HEADERS = ["Customer name", "External identification code", "Contact's Identifier code", "Contact's Email"]
ROW = ["Acme", "C1", "K1", "anne@acme.com"]


def any_headers(headers: list[str]) -> bool:
    return True


def csv_bytes(
    rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8", newline: str = "\r\n"
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list]], *, hidden: tuple[str, ...] = (), start: str = "A1") -> bytes:
    """A workbook with one sheet per entry; rows are written from `start` down (an empty list = blank row)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        if name in hidden:
            sheet.sheet_state = "hidden"
        origin = sheet[start]
        for offset, row in enumerate(rows):
            for column, value in enumerate(row):
                sheet.cell(row=origin.row + offset, column=origin.column + column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
    ' manifest:version="1.2"><manifest:file-entry manifest:full-path="/"'
    ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def ods_bytes(sheets: dict[str, list[list]]) -> bytes:
    """A minimal OpenDocument spreadsheet (no library writes .ods)."""

    def cell(value) -> str:
        if value in ("", None):
            return "<table:table-cell/>"
        if isinstance(value, int | float):
            return (
                f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>"
            )
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'

    tables = "".join(
        f'<table:table table:name="{name}">'
        + "".join("<table:table-row>" + "".join(map(cell, row)) + "</table:table-row>" for row in rows)
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", ODS_MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def rejection(data: bytes, **kwargs) -> str:
    with pytest.raises(FileRejected) as error:
        read_table(data, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


# CSV: encodings


def test_utf8_csv_is_read_with_the_file_row_numbers():
    data = csv_bytes([HEADERS, ROW, ["Zoé", "C2", "K2", "zoe@acme.com"]])

    table = read_table(data, filename="contacts.csv")

    assert table == Table(
        format="csv",
        headers=HEADERS,
        rows=[(2, ROW), (3, ["Zoé", "C2", "K2", "zoe@acme.com"])],
        sheet_name=None,
    )


def test_utf8_bom_is_not_part_of_the_first_header():
    data = b"\xef\xbb\xbf" + csv_bytes([HEADERS, ["Société", "C1", "K1", "a@b.fr"]])

    table = read_table(data)

    assert table.headers == HEADERS
    assert table.rows == [(2, ["Société", "C1", "K1", "a@b.fr"])]


def test_windows_1252_csv_from_french_excel_is_detected():
    headers = [
        "Nom du client",
        f"Code d{CURLY}identification externe",
        "Identifiant du contact",
        "Email du contact",
    ]
    data = csv_bytes(
        [headers, ["Société Générale", "C1", "K1", f"o{CURLY}brien@sg.fr"]], delimiter=";", encoding="cp1252"
    )
    assert b"\xe9" in data  # é
    assert b"\x92" in data  # the curly apostrophe in Windows-1252

    table = read_table(data)

    assert table.headers == headers
    assert table.rows == [(2, ["Société Générale", "C1", "K1", f"o{CURLY}brien@sg.fr"])]


def test_mixed_encodings_read_utf8_and_windows_1252_bytes_alike():
    data = csv_bytes([HEADERS, ["Zoé", "C1", "K1", "a@b.fr"]]) + csv_bytes(
        [["Chloé", "C2", "K2", "c@b.fr"]], encoding="cp1252"
    )

    table = read_table(data)

    assert [values[0] for _, values in table.rows] == ["Zoé", "Chloé"]


def test_utf16_text_from_excel_unicode_export_is_read():
    data = csv_bytes([HEADERS, ["Zoé", "C1", "K1", "a@b.fr"]], delimiter="\t", encoding="utf-16")

    table = read_table(data)

    assert table.rows == [(2, ["Zoé", "C1", "K1", "a@b.fr"])]


# CSV: layout


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_delimiter_is_sniffed_whatever_the_line_endings(delimiter, newline):
    data = csv_bytes(
        [HEADERS, ["Acme, Inc; Ltd", "C1", "K1", "a@b.fr"]], delimiter=delimiter, newline=newline
    )

    table = read_table(data)

    assert table.headers == HEADERS
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


def test_delimiters_inside_quoted_headers_do_not_count():
    data = b'"Customer name, legal";"External identification code";"Contact\'s Identifier code";'
    data += b"Contact's Email\na,b;c;d;e\n"

    table = read_table(data, accept_headers=any_headers)

    assert table.headers == ["Customer name, legal", *HEADERS[1:]]
    assert table.rows == [(2, ["a,b", "c", "d", "e"])]


def test_a_tie_between_delimiters_in_the_header_is_settled_by_the_data_rows():
    data = b"a,b;c,d;e\n1;2;3\n4;5;6\n7;8;9\n"

    table = read_table(data, accept_headers=any_headers)

    assert table.headers == ["a,b", "c,d", "e"]
    assert table.rows == [(2, ["1", "2", "3"]), (3, ["4", "5", "6"]), (4, ["7", "8", "9"])]


def test_blank_rows_are_dropped_and_later_rows_keep_their_numbers():
    data = b"\r\n" + csv_bytes(
        [HEADERS, ROW, [], ["", " ", "", ""], ["Bolt", "C2", "K2", "b@b.fr"]], delimiter=";"
    )

    table = read_table(data)

    # The header is on row 2 (row 1 is blank), as Excel would show it.
    assert table.rows == [(3, ROW), (6, ["Bolt", "C2", "K2", "b@b.fr"])]


def test_cells_are_trimmed_and_rows_fitted_to_the_header():
    data = csv_bytes([[*HEADERS, " ", ""], ["  Acme ", " C1", "K1"], [*ROW, "extra", "more"]])

    table = read_table(data)

    assert table.headers == HEADERS
    assert table.rows == [(2, ["Acme", "C1", "K1", ""]), (3, ROW)]


def test_a_row_with_values_only_past_the_header_is_blank():
    table = read_table(csv_bytes([HEADERS, ["", "", "", "", "stray note"], ROW]))

    assert table.rows == [(3, ROW)]


def test_header_only_gives_no_rows():
    table = read_table(csv_bytes([HEADERS, [], []]))

    assert (table.headers, table.rows) == (HEADERS, [])


def test_a_one_megabyte_cell_is_read_whole():
    notes = "x" * 1_000_000
    data = csv_bytes([[*HEADERS, "Notes"], [*ROW, notes]])

    table = read_table(data)

    assert table.rows[0][1][4] == notes


def test_formulas_in_csv_cells_are_plain_text():
    table = read_table(csv_bytes([HEADERS, ['=HYPERLINK("http://x")', "+C1", "-K1", "@a"]]))

    assert table.rows == [(2, ['=HYPERLINK("http://x")', "+C1", "-K1", "@a"])]


def test_the_garbage_collector_is_running_again_after_reading():
    read_table(csv_bytes([HEADERS, ROW]))
    rejection(csv_bytes([HEADERS, ROW, ROW]), max_rows=1)

    assert gc.isenabled()


# Excel and OpenDocument


def test_xlsx_text_that_looks_like_a_formula_stays_text_and_formulas_give_their_computed_value():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([*HEADERS, "Notes"])
    sheet.append([*ROW, "=1+2"])  # a formula without a computed value, as written by a program
    sheet.append([*ROW, None])
    sheet["E3"].value = '=HYPERLINK("http://evil")'
    sheet["E3"].data_type = "s"  # typed as text in Excel
    buffer = io.BytesIO()
    workbook.save(buffer)

    table = read_table(buffer.getvalue())

    assert [values[4] for _, values in table.rows] == ["", '=HYPERLINK("http://evil")']


def test_xlsx_numbers_are_read_as_digits_and_dates_as_iso_text():
    rows = [
        [*HEADERS, "Contact's Telephone Number", "Main Contact", "Since", "Ratio", "Called at"],
        ["Acme", 1005, 1005.0, "a@b.fr", 33612345678, True, datetime.date(2024, 3, 1), 3.5, None],
        ["Bolt", 2**53, 7, "b@b.fr", 612345678, False, datetime.datetime(2024, 3, 1, 9, 30), 0.1, "x"],
    ]

    table = read_table(xlsx_bytes({"Contacts": rows}))

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
    data = xlsx_bytes(
        {
            "Read me": [["Fill in the next sheet"]],
            "Empty": [],
            "Old": [HEADERS, ["Old", "C0", "K0", "old@b.fr"]],
            "Contacts": [HEADERS, ROW],
            "Later": [HEADERS, ["Later", "C9", "K9", "l@b.fr"]],
        },
        hidden=("Old",),
    )

    table = read_table(data)

    assert (table.sheet_name, table.rows) == ("Contacts", [(2, ROW)])


def test_xlsx_data_placed_lower_and_to_the_right_keeps_the_sheet_row_numbers():
    data = xlsx_bytes({"Contacts": [HEADERS, ROW, [], ["Bolt", "C2", "K2", "b@b.fr"]]}, start="C3")

    table = read_table(data)

    assert table.headers == HEADERS
    assert table.rows == [(4, ROW), (6, ["Bolt", "C2", "K2", "b@b.fr"])]


def test_xlsx_custom_header_check_picks_the_sheet():
    data = xlsx_bytes({"A": [["one"], ["1"]], "B": [["two", "x"], ["2", "y"]]})

    table = read_table(data, accept_headers=lambda headers: headers[0] == "two")

    assert (table.sheet_name, table.headers, table.rows) == ("B", ["two", "x"], [(2, ["2", "y"])])


def test_xls_fixture_is_read_from_its_second_sheet():
    table = read_table((FILES / "contacts.xls").read_bytes(), filename="contacts.xls")

    assert table.format == "xls"
    assert table.sheet_name == "Contacts"
    assert table.headers[2] == f"Contact{CURLY}s Identifier code"
    assert table.rows == [
        (2, ["Société Générale", "1005", "C-1", "anne@example.com", "33612345678", "true", "2024-03-01"]),
        (4, [f"O{CURLY}Brien & Co", "C42", "7", "bob@example.com", "612345678", "false", ""]),
    ]


def test_ods_is_read():
    data = ods_bytes({"Notes": [["hello"]], "Contacts": [[], HEADERS, ["Acme", 1005, 3.5, "a@b.fr"]]})

    table = read_table(data, filename="contacts.ods")

    assert (table.format, table.sheet_name) == ("ods", "Contacts")
    assert table.rows == [(3, ["Acme", "1005", "3.5", "a@b.fr"])]


# The format comes from the content


def test_an_xlsx_named_csv_is_read_as_xlsx():
    table = read_table(xlsx_bytes({"Sheet": [HEADERS, ROW]}), filename="contacts.csv")

    assert (table.format, table.rows) == ("xlsx", [(2, ROW)])


def test_a_csv_named_xlsx_is_read_as_csv():
    table = read_table(csv_bytes([HEADERS, ROW]), filename="contacts.xlsx")

    assert (table.format, table.rows) == ("csv", [(2, ROW)])


# Rejections


@pytest.mark.parametrize("data", [b"", b"  \r\n\t\n", b"\xef\xbb\xbf", b";;;\r\n;;\r\n", b"\xef\xbb\xbf\r\n"])
def test_empty_files_are_refused(data):
    assert rejection(data) == EMPTY


def test_a_workbook_without_any_cell_is_empty():
    assert rejection(xlsx_bytes({"One": [], "Two": [[None]]})) == EMPTY


@pytest.mark.parametrize("filename", ["contacts.csv", "contacts.xlsx"])
def test_random_bytes_are_not_a_spreadsheet(filename):
    data = random.Random(3).randbytes(4096)

    assert rejection(data, filename=filename) == NOT_SPREADSHEET.format(name=f'"{filename}"')


def test_binary_text_full_of_control_characters_is_not_a_spreadsheet():
    pick = random.Random(5).choice
    data = bytes(pick(b"\x01\x02\x03\x04abc") for _ in range(2000))

    assert rejection(data) == NOT_SPREADSHEET.format(name="The file")


def test_the_file_name_in_messages_is_its_base_name_on_one_line():
    data = random.Random(3).randbytes(4096)

    assert rejection(data, filename="C:\\Users\\ann\\my\nfile.csv") == NOT_SPREADSHEET.format(
        name='"myfile.csv"'
    )


def test_a_pdf_renamed_xlsx_is_refused():
    data = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"

    assert rejection(data, filename="contacts.xlsx") == PDF


def test_a_password_protected_xlsx_is_refused():
    data = (FILES / "password-protected.xlsx").read_bytes()

    assert rejection(data, filename="contacts.xlsx") == PASSWORD_PROTECTED


def test_an_ole2_file_that_is_not_a_workbook_is_not_a_spreadsheet():
    xls = (FILES / "contacts.xls").read_bytes()
    word = xls.replace("Workbook".encode("utf-16-le"), "WordDocu".encode("utf-16-le"))

    assert rejection(word, filename="letter.doc") == NOT_SPREADSHEET.format(name='"letter.doc"')


def test_a_zip_that_is_not_a_workbook_is_not_a_spreadsheet():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")

    assert rejection(buffer.getvalue(), filename="a.docx") == NOT_SPREADSHEET.format(name='"a.docx"')


def _xls_with_its_workbook_stream_zeroed() -> bytes:
    xls = (FILES / "contacts.xls").read_bytes()
    return xls[:512] + bytes(2048) + xls[512 + 2048 :]  # the stream starts after the 512-byte OLE2 header


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + b"\x00" * 100,
        xlsx_bytes({"Sheet": [HEADERS, ROW]})[:-200],  # cut short: no central directory
        _xls_with_its_workbook_stream_zeroed(),
    ],
)
def test_a_damaged_workbook_is_refused(data):
    assert rejection(data, filename="contacts.xlsx") == DAMAGED.format(name='"contacts.xlsx"')


def test_nul_bytes_are_refused():
    data = csv_bytes([HEADERS, ["Acme\x00", "C1", "K1", "a@b.fr"]])

    assert rejection(data) == NUL_BYTES


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.CONTACT_IMPORT_MAX_BYTES = 1024 * 1024
    data = csv_bytes([HEADERS] + [ROW] * 50_000)
    assert len(data) > 1024 * 1024

    assert rejection(data) == TOO_BIG.format(limit="1")


def test_the_default_size_limit_is_20_mb(settings):
    assert settings.CONTACT_IMPORT_MAX_BYTES == 20 * 1024 * 1024
    assert TOO_BIG.format(limit="20") in rejection(b" " * (20 * 1024 * 1024 + 1))


def test_more_data_rows_than_the_limit_are_refused():
    data = csv_bytes([HEADERS] + [ROW] * 11)

    assert read_table(data, max_rows=11).rows[-1][0] == 12
    assert rejection(data, max_rows=10) == TOO_MANY_ROWS.format(limit=10)
    assert rejection(xlsx_bytes({"S": [HEADERS] + [ROW] * 11}), max_rows=10) == TOO_MANY_ROWS.format(limit=10)


def test_the_row_limit_comes_from_the_settings(settings):
    settings.CONTACT_IMPORT_MAX_ROWS = 3
    data = csv_bytes([HEADERS, ROW, [], ROW, ROW])

    assert len(read_table(data).rows) == 3
    assert (
        rejection(data + csv_bytes([ROW]))
        == "The file has more than 3 data rows, the limit; split it into smaller files."
    )


def test_the_default_row_limit_is_200000(settings):
    assert settings.CONTACT_IMPORT_MAX_ROWS == 200_000
    assert TOO_MANY_ROWS.format(limit=200_000) == (
        "The file has more than 200,000 data rows, the limit; split it into smaller files."
    )


def _xlsx_with_sheet_of_spaces(size: int) -> bytes:
    """A real workbook whose sheet XML is padded with `size` spaces, compressed while written."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes({"Sheet": [HEADERS, ROW]})))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info.filename, content)
                continue
            with archive.open(info.filename, "w", force_zip64=True) as member:
                member.write(content.replace(b"</worksheet>", b""))
                chunk = b" " * (4 * 1024 * 1024)
                for _ in range(size // len(chunk)):
                    member.write(chunk)
                member.write(b"</worksheet>")
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_from_its_declared_size_before_parsing():
    data = _xlsx_with_sheet_of_spaces(300 * 1024 * 1024)
    assert len(data) < 1024 * 1024

    assert rejection(data, filename="bomb.xlsx") == EXPANDS_TOO_MUCH.format(limit="200")


def test_a_part_compressed_abnormally_is_refused():
    data = _xlsx_with_sheet_of_spaces(8 * 1024 * 1024)

    assert rejection(data, filename="bomb.xlsx") == ABNORMAL_COMPRESSION.format(ratio=200)


def test_a_zip_bomb_lying_about_its_size_is_stopped_by_the_parser():
    data = _xlsx_with_sheet_of_spaces(8 * 1024 * 1024)
    declared = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml").file_size
    lying = data.replace(struct.pack("<I", declared), struct.pack("<I", 100_000))
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("xl/worksheets/sheet1.xml").file_size == 100_000

    assert rejection(lying, filename="bomb.xlsx") == DAMAGED.format(name='"bomb.xlsx"')


def test_an_xml_entity_bomb_is_refused_without_expanding():
    bomb = with_entity_bomb(xlsx_bytes({"Sheet": [HEADERS, ["BOMB", "C1", "K1", "a@b.fr"]]}))

    assert rejection(bomb, filename="bomb.xlsx") == DAMAGED.format(name='"bomb.xlsx"')


def test_a_stray_cell_in_the_last_excel_cell_is_refused_without_harm():
    # calamine would allocate a dense range of 17 billion cells and abort the process reading it.
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append(ROW)
    workbook.active["XFD1048576"] = "stray"
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert len(buffer.getvalue()) < 10_000

    assert rejection(buffer.getvalue(), filename="big.xlsx") == TOO_DEMANDING.format(name='"big.xlsx"')
    assert read_table(xlsx_bytes({"S": [HEADERS, ROW]})).rows == [(2, ROW)]


def test_an_ods_repeating_a_cell_over_the_whole_sheet_is_refused():
    row = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>R</text:p></table:table-cell>'
    )
    bomb = (
        '<table:table-row table:number-rows-repeated="1048576"><table:table-cell office:value-type="string"'
        ' table:number-columns-repeated="16384"><text:p>x</text:p></table:table-cell>'
    )
    source = zipfile.ZipFile(io.BytesIO(ods_bytes({"S": [HEADERS, ["R"]]})))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            archive.writestr(info, content.replace(row.encode(), bomb.encode()))

    assert rejection(buffer.getvalue(), filename="bomb.ods") == DAMAGED.format(name='"bomb.ods"')


def test_a_workbook_taking_too_long_is_refused(monkeypatch):
    monkeypatch.setattr("contacts.importing.reading.workbook.WORKBOOK_TIMEOUT", 0.001)

    assert rejection(xlsx_bytes({"S": [HEADERS, ROW]}), filename="slow.xlsx") == TOO_DEMANDING.format(
        name='"slow.xlsx"'
    )


def test_missing_mandatory_columns_are_named():
    data = csv_bytes([["Customer name", "Email du contact", "Notes"], ["Acme", "a@b.fr", ""]])

    assert rejection(data) == MISSING_COLUMNS.format(
        columns='"External identification code", "Contact\'s Identifier code"'
    )


def test_a_workbook_without_a_sheet_with_the_mandatory_columns_names_the_first_sheet():
    data = xlsx_bytes({"Read me": [["Notes"]], "Contacts": [HEADERS[:3], ROW[:3]]})

    assert rejection(data) == NO_SHEET_WITH_COLUMNS.format(
        sheet="Read me", columns=", ".join(f'"{header}"' for header in HEADERS)
    )


def test_a_custom_header_check_that_nothing_passes_gives_a_generic_message():
    assert rejection(csv_bytes([HEADERS, ROW]), accept_headers=lambda headers: False) == NO_ACCEPTED_HEADERS
    assert (
        rejection(xlsx_bytes({"S": [HEADERS]}), accept_headers=lambda headers: False) == NO_ACCEPTED_HEADERS
    )


def test_duplicated_headers_are_kept_as_written_for_the_column_mapping():
    table = read_table(csv_bytes([[*HEADERS, "Contact's Email"], [*ROW, "other@b.fr"]]))

    assert table.headers == [*HEADERS, "Contact's Email"]
    assert table.rows == [(2, [*ROW, "other@b.fr"])]


# Properties


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.binary(max_size=500).map(lambda data: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + data),
        st.binary(max_size=500).map(lambda data: b"PK\x03\x04" + data),
        st.binary(max_size=500).map(lambda data: b"\xff\xfe" + data),
        st.binary(max_size=500).map(lambda data: b"\xef\xbb\xbf" + data),
        st.text(max_size=500).map(lambda text: text.encode("utf-8", "surrogatepass")),
    )
)
def test_any_bytes_give_a_table_or_a_file_rejection(data):
    try:
        table = read_table(data, filename="upload.csv")
    except FileRejected as error:
        message = str(error)
    else:
        message = ""
        assert all(len(values) == len(table.headers) for _, values in table.rows)
    assert "\n" not in message


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
        assert rejection(buffer.getvalue().encode()) == EMPTY
        return
    table = read_table(buffer.getvalue().encode(), accept_headers=any_headers)

    headers = filled[0][1]
    while not headers[-1]:
        headers = headers[:-1]
    expected = []
    for number, row in filled[1:]:
        values = (row + [""] * len(headers))[: len(headers)]
        if any(values):
            expected.append((number, values))
    assert (table.headers, table.rows) == (headers, expected)


@hypothesis_settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=-(10**15), max_value=10**15), min_size=1, max_size=10))
def test_xlsx_integral_numbers_come_back_as_their_digits(numbers):
    data = xlsx_bytes({"S": [["n", "as float"], *([number, float(number)] for number in numbers)]})

    table = read_table(data, accept_headers=any_headers)

    assert [values for _, values in table.rows] == [[str(number), str(number)] for number in numbers]
