"""Security properties of issue 5 that no other module checks.

Uploaded files are reachable by no URL (the admin streams them to permitted staff: that and its
permissions are in tests/contacts/admin/test_history.py); every import form needs its CSRF token; an
API key is nowhere in clear in the database (the key's own row: tests/api/test_auth.py).
"""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings as project_settings
from django.contrib.sessions.models import Session
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from contacts.models import Contact, ImportBatch
from customers.models import OrganizationAPIKey
from tests.factories import CustomerFactory, UserFactory
from tests.helpers import CONFIRM, PREVIEW, UPLOAD, contact_row, csv_bytes, uploaded

pytestmark = pytest.mark.django_db

HISTORY = reverse("admin:contacts_importbatch_changelist")
CSRF_FIELD = 'name="csrfmiddlewaretoken"'


def contacts_file(org, external_id: str = "C-1") -> bytes:
    customer = CustomerFactory(organization=org)
    return csv_bytes([contact_row(customer, external_id, f"{external_id.lower()}@client.example")])


# --- Uploaded files are reachable by no URL -----------------------------------------------------------


def test_a_committed_file_and_a_kept_upload_are_reachable_by_no_url(importer, org, media_root):
    importer.post(CONFIRM, uploaded(importer, org, contacts_file(org, "C-1")))
    kept = uploaded(importer, org, contacts_file(org, "C-2"))["file"]
    batch = ImportBatch.objects.get()
    superuser = Client()
    superuser.force_login(UserFactory(is_superuser=True))
    # The kept upload is in the database, not in a file; its token names no file either.
    assert not list(media_root.rglob(f"*{kept}*"))
    stored = [batch.file.name]

    for name in stored:
        assert (media_root / name).is_file()
        assert Path(batch.file.path).is_relative_to(media_root)
        assert finders.find(name) is None
        for url in (f"/media/{name}", f"/{name}", f"/static/{name}", f"/static/../media/{name}"):
            for client in (Client(), importer, superuser):
                assert client.get(url).status_code == 404, url


def test_uploads_are_stored_under_media_root_apart_from_every_static_folder():
    media = Path(project_settings.MEDIA_ROOT).resolve()
    statics = [
        Path(folder).resolve()
        for folder in (project_settings.STATIC_ROOT, *project_settings.STATICFILES_DIRS)
    ]

    assert Path(ImportBatch._meta.get_field("file").storage.location).resolve() == media
    for static in statics:
        assert not media.is_relative_to(static), static
        assert not static.is_relative_to(media), static
    with pytest.raises(Resolver404):
        resolve("/media/contact-imports/2026/01/contacts.csv")


# --- CSRF on the import forms -----------------------------------------------------------------------


def post_forms(content: str) -> list[str]:
    return re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", content, re.S | re.I)


def test_every_import_form_carries_a_csrf_token_and_the_confirm_is_refused_without_it(
    importer, org, media_root
):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(importer.user)
    form = browser.get(UPLOAD)
    token = browser.cookies[project_settings.CSRF_COOKIE_NAME].value
    upload = browser.post(
        UPLOAD,
        {
            "organization": org.pk,
            "file": SimpleUploadedFile("contacts.csv", contacts_file(org)),
            "csrfmiddlewaretoken": token,
        },
    )
    key = dict(part.split("=", 1) for part in upload["Location"].split("?", 1)[1].split("&"))
    preview = browser.get(PREVIEW, key)
    batch_pages = [browser.get(HISTORY)]

    refused = browser.post(CONFIRM, key)
    count_after_refusal = Contact.objects.count()
    accepted = browser.post(CONFIRM, {**key, "csrfmiddlewaretoken": token})

    for page in (form, preview, *batch_pages):
        forms = post_forms(page.content.decode())
        assert all(CSRF_FIELD in html for html in forms), page.request["PATH_INFO"]
    assert 'id="confirm-form"' in preview.content.decode()
    assert upload.status_code == 302
    assert refused.status_code == 403
    assert count_after_refusal == 0
    assert accepted.status_code == 302
    assert Contact.objects.filter(organization=org).count() == 1


# --- API keys -------------------------------------------------------------------------------------------


def test_a_new_api_key_is_nowhere_in_clear_in_the_database(org):
    admin = Client()
    admin.force_login(UserFactory(is_superuser=True))
    created = admin.post("/admin/customers/organizationapikey/add/", {"name": "ERP", "organization": org.pk})
    # Shown once on the page that follows (kept in the server-side session until then, then dropped).
    from_admin = admin.get(created["Location"]).context["key"]
    printed = io.StringIO()
    call_command("create_api_key", organization=org.slug, name="CLI", stdout=printed, stderr=io.StringIO())
    from_command = printed.getvalue().strip()
    dump = io.StringIO()

    call_command("dumpdata", stdout=dump)

    assert OrganizationAPIKey.objects.count() == 2
    sessions = " ".join(str(session.get_decoded()) for session in Session.objects.all())
    for key in (from_admin, from_command):
        secret = key.split(".", 1)[1]
        assert len(secret) >= 32
        assert secret not in dump.getvalue()
        assert secret not in sessions
