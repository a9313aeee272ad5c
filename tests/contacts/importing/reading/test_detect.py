"""The kind of file comes from its content, never its name; files too big and zip bombs are refused
before anything parses them."""

import io
import zipfile

from contacts.importing.reading import (
    ABNORMAL_COMPRESSION,
    EXPANDS_TOO_MUCH,
    NOT_SPREADSHEET,
    PASSWORD_PROTECTED,
    PDF,
    TOO_BIG,
    read_table,
)
from tests.helpers import (
    FIXTURES,
    MANDATORY_HEADERS,
    MANDATORY_ROW,
    csv_bytes,
    refusal,
    workbook_bytes,
    xlsx_with_sheet_of_spaces,
)

# The format comes from the content


def test_an_xlsx_named_csv_is_read_as_xlsx():
    table = read_table(workbook_bytes({"Sheet": [MANDATORY_HEADERS, MANDATORY_ROW]}), filename="contacts.csv")

    assert (table.format, table.rows) == ("xlsx", [(2, MANDATORY_ROW)])


def test_a_csv_named_xlsx_is_read_as_csv():
    table = read_table(csv_bytes([MANDATORY_ROW], MANDATORY_HEADERS), filename="contacts.xlsx")

    assert (table.format, table.rows) == ("csv", [(2, MANDATORY_ROW)])


# Other kinds of file


def test_a_pdf_renamed_xlsx_is_refused():
    data = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"

    assert refusal(data, filename="contacts.xlsx") == PDF


def test_a_password_protected_xlsx_is_refused():
    data = (FIXTURES / "password-protected.xlsx").read_bytes()

    assert refusal(data, filename="contacts.xlsx") == PASSWORD_PROTECTED


def test_an_ole2_file_that_is_not_a_workbook_is_not_a_spreadsheet():
    xls = (FIXTURES / "contacts.xls").read_bytes()
    word = xls.replace("Workbook".encode("utf-16-le"), "WordDocu".encode("utf-16-le"))

    assert refusal(word, filename="letter.doc") == NOT_SPREADSHEET.format(name='"letter.doc"')


def test_a_zip_that_is_not_a_workbook_is_not_a_spreadsheet():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")

    assert refusal(buffer.getvalue(), filename="a.docx") == NOT_SPREADSHEET.format(name='"a.docx"')


# Size and zip bombs


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.CONTACT_IMPORT_MAX_BYTES = 1024 * 1024
    data = csv_bytes([MANDATORY_ROW] * 50_000, MANDATORY_HEADERS)
    assert len(data) > 1024 * 1024

    assert refusal(data) == TOO_BIG.format(limit="1")


def test_the_default_size_limit_is_20_mb(settings):
    assert settings.CONTACT_IMPORT_MAX_BYTES == 20 * 1024 * 1024
    assert TOO_BIG.format(limit="20") in refusal(b" " * (20 * 1024 * 1024 + 1))


def test_a_zip_bomb_is_refused_from_its_declared_size_before_parsing():
    data = xlsx_with_sheet_of_spaces(300 * 1024 * 1024)
    assert len(data) < 1024 * 1024

    assert refusal(data, filename="bomb.xlsx") == EXPANDS_TOO_MUCH.format(limit="200")


def test_a_part_compressed_abnormally_is_refused():
    data = xlsx_with_sheet_of_spaces(8 * 1024 * 1024)

    assert refusal(data, filename="bomb.xlsx") == ABNORMAL_COMPRESSION.format(ratio=200)
