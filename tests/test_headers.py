"""Security headers (issue 13, point 8): a strict Content-Security-Policy, a Permissions-Policy on every
response, and nothing with personal data kept by a cache. That the admin and Swagger UI still work under the
policy is tested in a browser: tests/browser/test_content_security_policy.py."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from contacts.models import ImportBatch
from tests.factories import CustomerFactory, UserFactory
from tests.helpers import client_for, contact_row, csv_bytes

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_pages_and_the_api_send_a_strict_content_security_policy(org):
    admin = Client()
    admin.force_login(UserFactory(is_superuser=True))
    responses = [
        Client().get(reverse("admin:login")),
        admin.get(reverse("admin:contacts_contact_changelist")),
        client_for(org).get("/api/v1/customers"),
        Client().get(reverse("api-docs")),
    ]

    for response in responses:
        policy = directives(response)
        assert policy["default-src"] == ["'none'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert not any("unsafe" in value for values in policy.values() for value in values)


def test_every_response_carries_the_permissions_policy(org, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    responses = {
        "page": Client().get(reverse("admin:login")),
        "redirect": Client().get("/"),
        "not found": Client().get("/no-such-page/"),
        "api": client_for(org).get("/api/v1/customers"),
        "api error": Client().get("/api/v1/customers"),
        "too large": Client().post("/admin/login/", data=b"x" * 100, content_type="text/plain"),
    }

    assert {name: response.status_code for name, response in responses.items()} == {
        "page": 200,
        "redirect": 302,
        "not found": 404,
        "api": 200,
        "api error": 401,
        "too large": 413,
    }
    for name, response in responses.items():
        policy = response.get("Permissions-Policy", "")
        assert {"camera=()", "geolocation=()", "microphone=()"} <= set(policy.split(", ")), name


def no_store(response) -> bool:
    return "no-store" in [part.strip() for part in response.get("Cache-Control", "").split(",")]


def test_api_responses_are_never_stored(org):
    customer = CustomerFactory(organization=org)
    api = client_for(org)

    responses = [
        api.get("/api/v1/customers"),
        api.get(f"/api/v1/customers/{customer.pk}/contacts"),
        api.get("/api/v1/customers/999999"),
        Client().get("/api/v1/contacts"),
        api.get("/api/v1/no-such-endpoint"),
    ]

    assert [response.status_code for response in responses] == [200, 200, 404, 401, 404]
    assert all(no_store(response) for response in responses)


def test_the_import_downloads_are_never_stored(org):
    importer = Client()
    user = UserFactory()
    for codename in ("import_contacts", "view_importbatch"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    importer.force_login(user)
    customer = CustomerFactory(organization=org)
    data = csv_bytes(
        [contact_row(customer, "C-1", "ann@client.example"), contact_row(customer, "C-2", "bad")]
    )
    uploaded = importer.post(
        reverse("admin:contacts_contact_import"),
        {"organization": org.pk, "file": SimpleUploadedFile("contacts.csv", data)},
    )
    key = {name: values[0] for name, values in parse_qs(urlsplit(uploaded["Location"]).query).items()}
    preview_report = importer.get(reverse("admin:contacts_contact_import_error_report", args=["csv"]), key)
    importer.post(reverse("admin:contacts_contact_import_confirm"), {**key, "skip_invalid": "on"})
    batch = ImportBatch.objects.get()

    downloads = [
        importer.get(reverse("admin:contacts_contact_import_template", args=["csv"])),
        importer.get(reverse("admin:contacts_contact_import_template", args=["xlsx"])),
        preview_report,
        importer.get(reverse("admin:contacts_importbatch_file", args=[batch.pk])),
        importer.get(reverse("admin:contacts_importbatch_error_report", args=[batch.pk, "xlsx"])),
    ]

    assert all(response.status_code == 200 for response in downloads)
    assert all("attachment" in response["Content-Disposition"] for response in downloads)
    assert all(no_store(response) for response in downloads)


def test_the_api_docs_page_loads_its_script_and_style_from_files(client):
    page = client.get(reverse("api-docs")).content.decode()
    script = client.get(reverse("api-docs"), {"script": ""})

    assert "<style" not in page
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page) == []
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_our_templates_hold_no_inline_script_style_or_event_handler():
    inline = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=|javascript:", re.I)

    found = {
        str(path.relative_to(TEMPLATES)): inline.findall(path.read_text())
        for path in TEMPLATES.rglob("*.html")
    }

    assert {name: hits for name, hits in found.items() if hits} == {}
