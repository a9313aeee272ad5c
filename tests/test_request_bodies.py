"""Request bodies are capped for every route before they are read (issue 13, point 6)."""

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as project_settings
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.asgi import ASGIHandler
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.urls import reverse

from contacts.api.errors import LENGTH_REQUIRED, PAGE_BODY_TOO_LARGE, PAGE_LENGTH_REQUIRED
from contacts.api.parsers import BODY_TOO_LARGE
from contacts.models import Contact
from tests.factories import UserFactory
from tests.helpers import csv_bytes

ROOT = Path(__file__).resolve().parent.parent
LOGIN = "/admin/login/"
BULK = "/api/v1/contacts/bulk"
UPLOAD = reverse("admin:contacts_contact_import")
THREE_HUNDRED_MB = 300 * 1024 * 1024
# Any well-formed CSRF cookie makes CsrfViewMiddleware read the form to compare tokens: an attacker sets one.
CSRF_COOKIE = "csrftoken=" + "a" * 32

pytestmark = pytest.mark.django_db


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads a byte of it."""

    def __init__(self):
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.reads += 1
        raise AssertionError("the request body was read")

    def read(self, size=-1) -> bytes:
        self.reads += 1
        raise AssertionError("the request body was read")

    def readline(self, size=-1) -> bytes:
        return self.read(size)


def post_declaring(client: Client, path: str, length: int, content_type: str, body) -> object:
    """A POST whose Content-Length says `length` bytes, whatever `body` holds."""
    return client.generic(
        "POST", path, CONTENT_LENGTH=str(length), CONTENT_TYPE=content_type, **{"wsgi.input": body}
    )


def test_an_anonymous_300_mb_post_is_refused_with_a_413_page_before_a_byte_is_read():
    body = UnreadableBody()

    response = post_declaring(Client(), LOGIN, THREE_HUNDRED_MB, "multipart/form-data; boundary=x", body)

    assert response.status_code == 413
    assert body.reads == 0
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    limit = filesizeformat(project_settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    assert str(PAGE_BODY_TOO_LARGE % {"limit": limit}) in page.replace("&nbsp;", "\xa0")


def test_an_api_body_over_the_limit_is_a_json_413_before_authentication_or_reading():
    body = UnreadableBody()
    limit = project_settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = post_declaring(Client(), BULK, limit + 1, "application/json", body)

    assert response.status_code == 413
    assert body.reads == 0
    assert response.json() == {"message": BODY_TOO_LARGE.format(limit=limit), "errors": {}}
    assert Contact.objects.count() == 0


@pytest.mark.parametrize("path", [LOGIN, UPLOAD, "/admin/contacts/contact/add/", "/no-such-page/"])
def test_every_route_refuses_an_anonymous_body_over_the_api_limit_unread(path):
    body = UnreadableBody()

    response = post_declaring(
        Client(),
        path,
        project_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1,
        "multipart/form-data; boundary=x",
        body,
    )

    assert (response.status_code, body.reads) == (413, 0)


def importer() -> Client:
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="import_contacts"))
    client = Client()
    client.force_login(user)
    return client


def test_staff_upload_a_file_over_the_api_limit_and_within_the_import_limit(org, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    data = csv_bytes([]) + b"# padding\r\n" * 2_000  # 22 KB: over the API limit, far under the import's
    form = {"organization": org.pk, "file": SimpleUploadedFile("contacts.csv", data)}

    staff = importer().post(UPLOAD, form)
    anonymous = Client().post(UPLOAD, {**form, "file": SimpleUploadedFile("contacts.csv", data)})
    elsewhere = importer().post(LOGIN, {**form, "file": SimpleUploadedFile("contacts.csv", data)})

    assert staff.status_code == 302
    assert staff["Location"].startswith(reverse("admin:contacts_contact_import_preview"))
    assert anonymous.status_code == 413
    assert elsewhere.status_code == 413


def test_the_import_upload_refuses_unread_a_body_over_its_file_limit_plus_the_margin():
    limit = project_settings.REQUEST_BODY_LIMITS["admin:contacts_contact_import"]
    too_large, within = UnreadableBody(), UnreadableBody()

    refused = post_declaring(importer(), UPLOAD, limit + 1, "multipart/form-data; boundary=x", too_large)

    assert limit - project_settings.CONTACT_IMPORT_MAX_BYTES == 64 * 1024
    assert (refused.status_code, too_large.reads) == (413, 0)
    with pytest.raises(AssertionError, match="the request body was read"):
        post_declaring(importer(), UPLOAD, limit, "multipart/form-data; boundary=x", within)


def asgi_post(path: str, chunks: list[bytes], content_type: str) -> tuple[int, bytes]:
    """POST `chunks` through Django's ASGI handler with no Content-Length (a chunked body)."""
    pending = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    pending.append({"type": "http.request", "body": b"", "more_body": False})
    sent: list[dict] = []

    async def receive():
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()  # the client stays connected until the response is sent

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", content_type.encode()),
            (b"cookie", CSRF_COOKIE.encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("localhost", 80),
    }
    async_to_sync(ASGIHandler())(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return start["status"], body


def test_a_body_without_content_length_is_cut_off_at_the_limit_while_read(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    form = b"username=support&password=" + b"x" * 50_000

    status, page = asgi_post(LOGIN, [form[:8_000], form[8_000:]], "application/x-www-form-urlencoded")

    assert status == 413
    assert b"Request too large" in page


def test_a_body_without_content_length_within_the_limit_is_read_as_usual(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000

    status, _ = asgi_post(LOGIN, [b"username=support&password=x"], "application/x-www-form-urlencoded")

    assert status == 403  # read, then refused for its missing CSRF token: not a 413


# --- Against a real gunicorn, as the attack ran -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="k8Vq2-production-like-secret-with-enough-length-and-variety-Zx91",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_ENV_FILE="",
        DATABASE_URL=f"sqlite:///{tmp_path / 'gunicorn.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
    )
    server = subprocess.Popen(
        [Path(sys.executable).parent / "gunicorn", "contacts_site.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_gunicorn_answers_an_anonymous_300_mb_post_with_413_before_the_body_is_sent(gunicorn):
    head = (
        f"POST {LOGIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Cookie: {CSRF_COOKIE}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {THREE_HUNDRED_MB}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", gunicorn), timeout=10) as connection:
        connection.sendall(head.encode() + b"--x\r\n")  # then nothing: the 300 MB never come
        answer = connection.recv(4096)

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


# --- Chunked bodies: a WSGI server gives Django no length, so nothing to read ----------------------------


def post_chunked(client: Client, path: str, body: bytes, content_type: str) -> object:
    """A POST as Django sees a chunked one under WSGI: Transfer-Encoding, and no Content-Length."""
    return client.generic(
        "POST",
        path,
        CONTENT_LENGTH="",
        CONTENT_TYPE=content_type,
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )


def test_a_chunked_api_body_is_a_json_411_and_nothing_is_saved(org):
    from tests.factories import CustomerFactory
    from tests.helpers import api_key_for

    customer = CustomerFactory(organization=org)
    items = (
        f'[{{"customerExternalId": "{customer.external_id}", "externalId": "K-1", "email": "a@b.example"}}]'
    )
    client = Client(HTTP_X_API_KEY=api_key_for(org))

    response = post_chunked(client, BULK, items.encode(), "application/json")

    assert response.status_code == 411
    assert response.json() == {"message": str(LENGTH_REQUIRED), "errors": {}}
    assert Contact.objects.count() == 0


def test_a_chunked_body_outside_the_api_is_a_411_page():
    response = post_chunked(Client(), LOGIN, b"username=a&password=b", "application/x-www-form-urlencoded")

    assert response.status_code == 411
    assert response["Content-Type"].startswith("text/html")
    assert str(PAGE_LENGTH_REQUIRED) in response.content.decode()


def test_gunicorn_answers_a_chunked_api_post_with_a_json_411(gunicorn):
    body = b'[{"externalId": "K-1"}]'
    head = (
        f"POST {BULK} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", gunicorn), timeout=10) as connection:
        connection.sendall(head.encode() + chunked)
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk

    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 411"), answer[:300]
    assert b"Content-Type: application/json" in head
    assert json.loads(payload) == {"message": str(LENGTH_REQUIRED), "errors": {}}
