"""Helpers shared by the tests: spreadsheet bytes built from rows of cell values, API clients, the admin's
import as staff use it."""

import csv
import io
import zipfile
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from contacts.fields import ENGLISH_HEADERS
from contacts.fields import SPREADSHEET_FIELDS as FIELDS
from contacts.importing.pipeline import commit_import
from contacts.importing.uploads import PREVIEW_FOLDER
from contacts.models import ImportBatch
from tests.factories import CustomerFactory, UserFactory

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


# --- The admin's import, as staff use it ---------------------------------------------------------------

UPLOAD = reverse("admin:contacts_contact_import")
PREVIEW = reverse("admin:contacts_contact_import_preview")
CONFIRM = reverse("admin:contacts_contact_import_confirm")


def staff_client(*codenames: str) -> Client:
    """A logged-in client of a new staff user with these permissions of the contacts app."""
    user = UserFactory()
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="contacts", codename=codename)
        )
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def upload(client, organization, data: bytes, name: str = "contacts.csv"):
    return client.post(UPLOAD, {"organization": organization.pk, "file": uploaded_file(data, name)})


def uploaded_file(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def preview_key(response) -> dict:
    """The key (organization, file, sha256) the upload redirected to."""
    assert response.status_code == 302, response.content[:500]
    parts = urlsplit(response["Location"])
    assert parts.path == PREVIEW
    return {name: values[0] for name, values in parse_qs(parts.query).items()}


def uploaded(client, organization, data: bytes, name: str = "contacts.csv") -> dict:
    return preview_key(upload(client, organization, data, name))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def stored_previews(media_root) -> list:
    folder = media_root / PREVIEW_FOLDER
    return sorted(folder.iterdir()) if folder.exists() else []


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
                stored.update(event["values"])
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
    from django.contrib.auth.models import Group

    from contacts.management.commands.seed_demo import SUPPORT_GROUP, SUPPORT_PERMISSIONS

    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    for app_label, codename in SUPPORT_PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user = UserFactory(username=username)
    user.groups.add(group)
    return user


def browser_log_in(page, live_server, username: str, password: str = "pass-for-tests") -> None:
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
