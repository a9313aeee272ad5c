"""Helpers shared by the tests: spreadsheet bytes built from rows of cell values, API clients."""

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

from openpyxl import Workbook

from contacts.fields import ENGLISH_HEADERS
from contacts.fields import SPREADSHEET_FIELDS as FIELDS

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
