"""Regenerate the binary fixtures of this folder (they are committed; this is how they were made).

pip install xlwt==1.3.0 olefile==0.47   # not project dependencies
python tests/contacts/importing/files/make_fixtures.py
"""

import datetime
import io
from pathlib import Path

import olefile
import xlwt

HERE = Path(__file__).resolve().parent


def contacts_xls() -> bytes:
    """Excel 97: a notes sheet first, then the contacts with numbers, a date, a boolean and a blank row."""
    book = xlwt.Workbook(encoding="utf-8")
    notes = book.add_sheet("Read me")
    notes.write(0, 0, "Contacts are on the next sheet")
    sheet = book.add_sheet("Contacts")
    headers = [
        "Customer name",
        "External identification code",
        "Contact\u2019s Identifier code",
        "Contact's Email",
        "Contact's Telephone Number",
        "Main Contact",
        "Since",
    ]
    rows = [
        ["Société Générale", 1005, "C-1", "anne@example.com", 33612345678, True, datetime.date(2024, 3, 1)],
        [],
        ["O\u2019Brien & Co", "C42", 7, "bob@example.com", 612345678, False, None],
    ]
    for column, header in enumerate(headers):
        sheet.write(0, column, header)
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if isinstance(value, datetime.date):
                sheet.write(number, column, value, date_style)
            elif value is not None:
                sheet.write(number, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def client_xls() -> bytes:
    """An old Excel 97 client file: blank rows and a title above French headers on row 4, French values."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Feuil1")
    sheet.write(1, 0, "Liste des contacts")
    headers = [
        "Société",
        "Code client",
        "Référence",
        "E-mail",
        "Prénom",
        "Nom",
        "Portable",
        "Fonction",
        "Principal",
    ]
    rows = [
        [
            "Garage du Centre",
            "C-204",
            "GC-1",
            "hugo@garage.example",
            "Hugo",
            "Thomas",
            612345678,
            "Comptable",
            "VRAI",
        ],
        ["Garage du Centre", "C-204", "GC-2", "ines@garage.example", "Inès", "Petit", None, "Achats", "FAUX"],
    ]
    for column, header in enumerate(headers):
        sheet.write(3, column, header)
    for number, row in enumerate(rows, start=4):
        for column, value in enumerate(row):
            if value is not None:
                sheet.write(number, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def encrypted_xlsx(xls: bytes) -> bytes:
    """An OLE2 container shaped like a password-protected .xlsx: its one stream is "EncryptedPackage".

    Made by renaming the "Workbook" stream of an .xls in the directory entry (name + name length).
    """
    old, new = "Workbook".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le")
    data = bytearray(xls)
    at = data.index(old + b"\x00\x00")
    data[at : at + 64] = (new + b"\x00\x00").ljust(64, b"\x00")
    data[at + 64 : at + 66] = len(new + b"\x00\x00").to_bytes(2, "little")
    with olefile.OleFileIO(bytes(data)) as ole:
        assert ole.exists("EncryptedPackage"), ole.listdir()
    return bytes(data)


if __name__ == "__main__":
    xls = contacts_xls()
    (HERE / "contacts.xls").write_bytes(xls)
    (HERE / "password-protected.xlsx").write_bytes(encrypted_xlsx(xls))
    (HERE / "client-blank-rows.xls").write_bytes(client_xls())
