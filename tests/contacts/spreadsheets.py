"""Spreadsheet bytes for import tests: CSV and XLSX built from rows of cell values."""

import csv
import io

from openpyxl import Workbook

from contacts.importing.columns import ENGLISH_HEADERS, FIELDS

HEADERS = [ENGLISH_HEADERS[field] for field in FIELDS]


def contact_row(customer, external_id: str, email: str, **values) -> list[str]:
    """One data row in FIELDS order; keyword arguments override the blank optional cells."""
    cells = {
        "customer_name": customer.name,
        "customer_external_id": customer.external_id,
        "external_id": external_id,
        "email": email,
        **values,
    }
    return [str(cells.get(field, "")) for field in FIELDS]


def csv_bytes(rows: list[list[str]], headers: list[str] | None = None, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS if headers is None else headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]], headers: list[str] | None = None) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")
    sheet.append(HEADERS if headers is None else headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
