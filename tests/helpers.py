"""Helpers shared by the tests: spreadsheet bytes built from rows of cell values, admin and API clients,
the admin's import as staff use it."""

import contextlib
import csv
import io
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from contacts.fields import ENGLISH_HEADERS, FRENCH_HEADERS, MANDATORY_FIELDS
from contacts.fields import SPREADSHEET_FIELDS as FIELDS
from contacts.importing.pipeline import commit_import
from contacts.importing.reading import FileRejected, read_table
from contacts.models import ImportBatch, ImportUpload
from tests.factories import CustomerFactory, UserFactory

HEADERS = [ENGLISH_HEADERS[field] for field in FIELDS]
MANDATORY_HEADERS = [ENGLISH_HEADERS[field] for field in MANDATORY_FIELDS]
MANDATORY_FRENCH_HEADERS = [FRENCH_HEADERS[field] for field in MANDATORY_FIELDS]
MANDATORY_ROW = ["Acme", "C1", "K1", "anne@acme.com"]  # under MANDATORY_HEADERS
# Binary files no library here can write (an Excel 97 workbook, a password-protected one).
FIXTURES = Path(__file__).resolve().parent / "contacts" / "importing" / "files"

UPLOAD = reverse("admin:contacts_contact_import")
PREVIEW = reverse("admin:contacts_contact_import_preview")
CONFIRM = reverse("admin:contacts_contact_import_confirm")
MAPPING = reverse("admin:contacts_contact_import_mapping")


# --- Spreadsheets ---------------------------------------------------------------------------------------


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


def csv_bytes(
    rows: list[list[str]],
    headers: list[str] | None = HEADERS,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\r\n",
) -> bytes:
    """A CSV of `headers` (None: no header line, for a file's continuation) and then `rows`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    if headers is not None:
        writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]], headers: list[str] = HEADERS) -> bytes:
    """A workbook of one sheet, "Contacts": `headers`, then `rows`."""
    return workbook_bytes({"Contacts": [headers, *rows]})


def workbook_bytes(
    sheets: dict[str, list[list]], *, hidden: tuple[str, ...] = (), start: str = "A1"
) -> bytes:
    """An .xlsx of one sheet per entry, in order; rows written from `start` down (empty list: blank row)."""
    workbook = Workbook()
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


# --- Client files as they really come ------------------------------------------------------------------

# Headers a French client renamed: the fields of FIELDS, in that order (contact_row fills rows under them).
RENAMED_HEADERS = [
    "Société",
    "Code client",
    "Référence contact",
    "Mail",
    "Prénom",
    "Nom",
    "Tél.",
    "Fonction",
    "Principal",
]
INSTRUCTIONS = [
    ["Mode d'emploi"],
    ["Remplissez l'onglet Contacts, une ligne par contact."],
    ["Mail : obligatoire"],
]


def messy_workbook(
    rows: list[list], *, headers: list[str] = RENAMED_HEADERS, sheet: str = "Contacts"
) -> bytes:
    """An accountant's Excel export: an instructions sheet, then a title line, a blank row, the headers on
    row 3, the rows from row 4, and a "TOTAL : n contacts" line."""
    title = [f"Contacts au 1er mars 2024 — {len(rows)} lignes"]
    return workbook_bytes(
        {"Mode d'emploi": INSTRUCTIONS, sheet: [title, [], headers, *rows, [f"TOTAL : {len(rows)} contacts"]]}
    )


def french_excel_csv(rows: list[list[str]], headers: list[str] = RENAMED_HEADERS) -> bytes:
    """French Excel's "CSV (separator: semicolon)": Windows-1252, a title line padded with `;`, headers."""
    title = ["Export des contacts", *[""] * (len(headers) - 1)]
    return csv_bytes([title, headers, *rows], headers=None, delimiter=";", encoding="cp1252")


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


# --- Hostile spreadsheets -------------------------------------------------------------------------------


def with_entity_bomb(workbook: bytes, cell: str = "BOMB", sheet: str = "xl/worksheets/sheet1.xml") -> bytes:
    """The workbook with a billion laughs in its sheet: the text `cell` would expand to 3 GB of "lol"."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    entities = '<!ENTITY l0 "lollollol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == sheet:
                content = f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'.encode() + content
                content = content.replace(f"<t>{cell}</t>".encode(), b"<t>&l9;</t>")
            archive.writestr(info.filename, content)
    return buffer.getvalue()


def xlsx_with_sheet_of_spaces(size: int) -> bytes:
    """A real workbook whose sheet XML is padded with `size` spaces, compressed while written."""
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes({"Sheet": [MANDATORY_HEADERS, MANDATORY_ROW]})))
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


def refusal(data: bytes, **kwargs) -> str:
    """The one line `read_table(data, **kwargs)` refuses the file with (it must refuse it)."""
    with pytest.raises(FileRejected) as error:
        read_table(data, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


# --- Admin and API clients ------------------------------------------------------------------------------


def staff_client(*codenames: str) -> Client:
    """A client logged in as a new staff user with these permissions of the contacts app."""
    user = UserFactory()
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="contacts", codename=codename)
        )
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def upload(client, organization, data: bytes, name: str = "contacts.csv", **fields):
    """The response to posting `data` on the admin's import form (`fields`: its other fields)."""
    return client.post(
        UPLOAD, {"organization": organization.pk, "file": SimpleUploadedFile(name, data), **fields}
    )


def preview_key(response) -> dict:
    """The key (organization, file, sha256) the upload redirected to."""
    assert response.status_code == 302, response.content[:500]
    parts = urlsplit(response["Location"])
    assert parts.path == PREVIEW
    return {name: values[0] for name, values in parse_qs(parts.query).items()}


def uploaded(client, organization, data: bytes, name: str = "contacts.csv", **fields) -> dict:
    """The preview key of `data` uploaded through the admin."""
    return preview_key(upload(client, organization, data, name, **fields))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def api_key_for(organization, name: str = "Tests") -> str:
    """A fresh API key of `organization`, in full (as the client sends it)."""
    from customers.models import OrganizationAPIKey

    return OrganizationAPIKey.objects.create_key(organization=organization, name=name)[1]


def client_for(organization):
    """An API client that sends a fresh key of `organization` in the X-Api-Key header."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key_for(organization))
    return client


def actor(channel: str = "admin", user=None, name: str = "tests"):
    """Who a test writes as (contacts.services.changelog.Actor): by default the admin, named "tests"."""
    from contacts.services.changelog import Actor

    return Actor(channel=channel, user=user, name=user.get_username() if user is not None else name)


def bulk_row(number: int, customer, external_id: str, email: str, **values):
    """A row for the bulk rules (contacts.services) naming `customer`; keyword arguments add fields."""
    from contacts.services.rows import RowInput

    base = {
        "customer_name": customer.name,
        "customer_external_id": customer.external_id,
        "external_id": external_id,
        "email": email,
    }
    return RowInput(row=number, values={**base, **values})


def uploaded_file(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def stored_previews(media_root=None) -> list[str]:
    """The kept uploads' tokens (they live in the database; `media_root` must hold no file of them)."""
    if media_root is not None:
        assert not list(media_root.glob("contact-import-previews/*"))
    return sorted(ImportUpload.objects.values_list("token", flat=True))


def one_valid_one_invalid(customer) -> bytes:
    return csv_bytes(
        [
            contact_row(customer, "C-1", "ann@client.example"),
            contact_row(customer, "C-2", "not-an-email"),
        ]
    )


def committed_batch(org) -> ImportBatch:
    """An import committed for `org`: one contact created, one invalid row skipped."""
    customer = CustomerFactory(organization=org)
    data = one_valid_one_invalid(customer)
    return commit_import(organization=org, data=data, filename="clients.csv", skip_invalid=True).batch


@contextlib.contextmanager
def gunicorn_server(
    *, workers: int = 3, env: dict[str, str] | None = None, timeout: float = 30.0, log_path=None
):
    """gunicorn serving the project on a free loopback port, with the repository's gunicorn.conf.py;
    yields (host, port) and always stops it. `env` adds settings (DATABASE_URL, CACHE_URL...); the
    server's output goes to `log_path` (a temporary file by default): a pipe nobody reads would fill up
    and block the workers."""
    root = pathlib.Path(__file__).resolve().parent.parent
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "DJANGO_ENV_FILE": "",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "insecure-key-for-tests-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    gunicorn = pathlib.Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn), "contacts_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    opened = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()  # noqa: SIM115
    with opened as log:
        server = subprocess.Popen(
            command, cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_until_listening(server, port, timeout, log)
            yield "127.0.0.1", port
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _wait_until_listening(server: subprocess.Popen, port: int, timeout: float, log) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"gunicorn stopped: {log.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start in time") from None
            time.sleep(0.1)


# --- People, as the demo's groups make them; the browser's login --------------------------------------


def command(name: str, *args, stdin: str | None = None) -> tuple[int, str, str]:
    """(exit status, stdout, stderr or the CommandError's text) of `manage.py NAME ARGS…`, in-process."""
    import sys
    from unittest import mock

    from django.core.management import call_command
    from django.core.management.base import CommandError

    stdout, stderr = io.StringIO(), io.StringIO()
    with mock.patch.object(sys, "stdin", io.StringIO(stdin or "")):
        try:
            call_command(name, *[str(a) for a in args], stdout=stdout, stderr=stderr)
        except CommandError as error:
            return error.returncode, stdout.getvalue(), str(error)
    return 0, stdout.getvalue(), stderr.getvalue()


# --- The changes feed, as a client mirroring its contacts uses it --------------------------------------

CHANGES_FEED = "/api/v1/contacts/changes"
MIRRORED = ("externalId", "email", "firstName", "lastName", "phone", "position", "isMain", "source")


def follow_feed(client, mirror: dict, cursor: str | None = None, **first_call) -> str:
    """Apply every event from `cursor` (or the first call's `since`) to `mirror`; returns the new cursor."""
    while True:
        query = {"cursor": cursor} if cursor else first_call
        response = client.get(CHANGES_FEED, {**query, "limit": 50})
        assert response.status_code == 200, response.content
        page = response.json()
        for event in page["events"]:
            if event["event"] == "deleted":
                mirror.pop(event["contactId"], None)
            else:
                stored = mirror.setdefault(event["contactId"], {"customerId": event["customerId"]})
                stored.update({name: v for name, v in event["values"].items() if name in MIRRORED})
        cursor = page["cursor"]
        if not page["hasMore"]:
            return cursor


def contacts_as_mirrored(organization) -> dict:
    """The organization's contacts as a mirror built from the feed holds them."""
    from contacts.api.serializers import ContactSerializer
    from contacts.models import Contact

    return {
        contact.pk: {
            "customerId": contact.customer_id,
            **{name: value for name, value in ContactSerializer(contact).data.items() if name in MIRRORED},
        }
        for contact in Contact.objects.filter(organization=organization).select_related("customer")
    }


# --- The browser tests' people -------------------------------------------------------------------------


def support_agent(username: str):
    """A staff user in the demo's "Support staff" group: the permissions support agents really have."""
    from contacts.management.commands.seed_demo import SUPPORT_GROUP, SUPPORT_PERMISSIONS

    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    for app_label, codename in SUPPORT_PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user = UserFactory(username=username)
    user.groups.add(group)
    return user


def log_in(page, live_server, username: str, password: str = "pass-for-tests") -> None:
    """Log in through the admin's form in the browser (Playwright's `page`)."""
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


# --- Processes of our own: app servers and workers started by a test ----------------------------------

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The URL of the test database this test runs on (PostgreSQL), for processes the test starts."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}{password}@{host}/{db['NAME']}"


def start_process(command: list[str], **environment: str) -> subprocess.Popen:
    """`manage.py COMMAND…` (or gunicorn, when the command starts with it) on the test database, in a
    session of its own; always stopped with stop_process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONTACT_", "CACHE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="contacts_site.settings",
        DJANGO_ENV_FILE="",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY="insecure-key-for-tests-only",
        DATABASE_URL=database_url(),
        **environment,
    )
    if command[0] == "gunicorn":
        program = [str(Path(sys.executable).with_name("gunicorn")), *command[1:]]
    else:
        program = [sys.executable, "manage.py", *command]
    return subprocess.Popen(
        program, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def stop_process(process: subprocess.Popen, signal_number: int = signal.SIGTERM) -> None:
    """Stop a process started by start_process (and wait for it), whatever state it is in."""
    if process.poll() is None:
        process.send_signal(signal_number)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
    if process.stderr:
        process.stderr.close()


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


# The vendor comes from the configured backend; no connection is opened to read it.
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"
)


def redis_answers(url: str = "redis://127.0.0.1:6379/0") -> bool:
    """Whether a Redis server answers at `url` (the tests that need one skip otherwise)."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not redis_answers(), reason="needs Redis on 127.0.0.1:6379")
