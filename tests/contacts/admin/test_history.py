"""The import history in the admin: the list, a batch's page, its stored file and error report."""

import datetime
import io

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from contacts.admin.changes import history_url
from contacts.importing.pipeline import commit_import
from contacts.importing.reports import ERROR_COLUMN
from contacts.models import Contact, ImportBatch
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import (
    CONFIRM,
    HEADERS,
    UPLOAD,
    committed_batch,
    contact_row,
    csv_bytes,
    one_valid_one_invalid,
    staff_client,
    uploaded,
)

pytestmark = pytest.mark.django_db

HISTORY = reverse("admin:contacts_importbatch_changelist")


def test_committed_batch_error_report_and_stored_file_are_downloadable(importer, org):
    customer = CustomerFactory(organization=org)
    data = one_valid_one_invalid(customer)
    importer.post(CONFIRM, {**uploaded(importer, org, data, "clients.csv"), "skip_invalid": "on"})
    batch = ImportBatch.objects.get()

    stored = importer.get(reverse("admin:contacts_importbatch_file", args=[batch.pk]))
    report = importer.get(reverse("admin:contacts_importbatch_error_report", args=[batch.pk, "xlsx"]))

    assert stored.status_code == 200
    assert stored.content == data
    assert stored["Content-Type"] == "application/octet-stream"
    assert stored["Content-Disposition"] == 'attachment; filename="clients.csv"'
    assert report.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(report.content)).active.values)
    assert rows[0] == (*HEADERS, ERROR_COLUMN)
    assert [row[2] for row in rows[1:]] == ["C-2"]
    assert rows[1][-1].startswith('Row 3, "Contact\'s Email": ')


def test_history_lists_batches_per_organization_with_links_to_the_downloads(importer, org):
    batch = committed_batch(org)
    other_batch = committed_batch(OrganizationFactory(name="Other Org"))

    response = importer.get(HISTORY, {"organization__id__exact": org.pk})

    assert response.status_code == 200
    content = response.content.decode()
    assert reverse("admin:contacts_importbatch_file", args=[batch.pk]) in content
    assert reverse("admin:contacts_importbatch_error_report", args=[batch.pk, "csv"]) in content
    assert reverse("admin:contacts_importbatch_file", args=[other_batch.pk]) not in content
    assert "/media/" not in content
    assert batch.file.name not in content


def test_history_shows_times_in_the_configured_time_zone_and_marks_overrides_with_their_reason(
    importer, org, settings
):
    settings.TIME_ZONE = "Europe/Paris"
    batch = committed_batch(org)
    reason = "Client re-sent the corrected file after the first import missed two hundred rows"
    ImportBatch.objects.filter(pk=batch.pk).update(
        created_at=datetime.datetime(2026, 7, 1, 22, 30, tzinfo=datetime.UTC), override_reason=reason
    )
    batch.refresh_from_db()

    content = importer.get(HISTORY).content.decode()

    assert "<span>2026-07-02</span> <span>00:30</span>" in content  # summer time in Paris: UTC+2
    assert f'<span class="import-override" title="{reason}">past the limit</span>' in content
    assert str(batch) == f"clients.csv ({org.name}, 2026-07-02 00:30)"


def test_the_batch_page_lists_the_contacts_it_changed_with_their_previous_values(importer, org):
    customer = CustomerFactory(organization=org)
    old = ContactFactory(
        customer=customer, external_id="C-OLD", email="old@client.example", first_name="", last_name="Martin"
    )
    data = csv_bytes(
        [
            contact_row(customer, "C-OLD", "old@client.example", last_name="Martin-Dubois", is_main="1"),
            contact_row(customer, "C-NEW", "new@client.example"),
        ]
    )
    batch = commit_import(organization=org, data=data, filename="clients.csv").batch

    content = importer.get(reverse("admin:contacts_importbatch_change", args=[batch.pk])).content.decode()

    new = Contact.objects.get(external_id="C-NEW")
    was = "was last name &quot;Martin&quot;, main contact: no"
    assert f'<li>Updated <a href="{history_url(old.pk)}">C-OLD</a>: {was}</li>' in content
    assert f'<li>Created <a href="{history_url(new.pk)}">C-NEW</a></li>' in content


def test_history_is_read_only(importer, org):
    batch = committed_batch(org)
    admin_user = staff_client()
    admin_user.user.is_superuser = True
    admin_user.user.save()

    detail = admin_user.get(reverse("admin:contacts_importbatch_change", args=[batch.pk]))

    assert detail.status_code == 200
    assert not detail.context["has_change_permission"]
    assert reverse("admin:contacts_importbatch_file", args=[batch.pk]) in detail.content.decode()
    assert admin_user.get(reverse("admin:contacts_importbatch_add")).status_code == 403
    assert admin_user.post(reverse("admin:contacts_importbatch_delete", args=[batch.pk])).status_code == 403
    assert ImportBatch.objects.filter(pk=batch.pk).exists()


def test_history_is_visible_with_the_import_batch_view_permission_alone(org):
    batch = committed_batch(org)
    auditor = staff_client("view_importbatch")

    assert auditor.get(HISTORY).status_code == 200
    assert auditor.get(reverse("admin:contacts_importbatch_file", args=[batch.pk])).status_code == 200
    assert auditor.get(UPLOAD).status_code == 403


def test_the_batch_page_has_the_error_report_at_its_top(importer, org):
    batch = committed_batch(org)

    content = importer.get(reverse("admin:contacts_importbatch_change", args=[batch.pk])).content.decode()

    top = content.index('id="import-error-report"')
    assert top < content.index('class="form-row field-organization')
    report = content[top : content.index("</p>", top)]
    assert "(the 1 invalid row with an Error column, to send back to the client):" in " ".join(report.split())
    for format in ("csv", "xlsx"):
        assert reverse("admin:contacts_importbatch_error_report", args=[batch.pk, format]) in report


def test_a_batch_without_problems_has_no_error_report(importer, org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([contact_row(customer, "C-1", "ann@client.example")])
    batch = commit_import(organization=org, data=data, filename="clients.csv").batch

    content = importer.get(reverse("admin:contacts_importbatch_change", args=[batch.pk])).content.decode()
    listing = importer.get(HISTORY).content.decode()

    assert 'id="import-error-report"' not in content
    assert reverse("admin:contacts_importbatch_error_report", args=[batch.pk, "csv"]) not in listing


def test_the_files_fingerprint_is_shown_to_superusers_only(importer, superuser_client, org):
    batch = committed_batch(org)
    url = reverse("admin:contacts_importbatch_change", args=[batch.pk])

    assert batch.sha256 not in importer.get(url).content.decode()
    assert batch.sha256 in superuser_client.get(url).content.decode()


def test_the_importer_links_to_their_user_page_only_for_staff_allowed_to_view_users(importer, org):
    batch = committed_batch(org)
    batch.user = UserFactory(username="camille.support")
    batch.save()
    url = reverse("admin:contacts_importbatch_change", args=[batch.pk])
    user_page = reverse("admin:auth_user_change", args=[batch.user.pk])
    user_viewer = staff_client("view_importbatch")
    user_viewer.user.user_permissions.add(Permission.objects.get(codename="view_user"))

    support_page = importer.get(url).content.decode()
    viewer_page = user_viewer.get(url).content.decode()

    assert "camille.support" in support_page
    assert user_page not in support_page
    assert f'<a href="{user_page}">camille.support</a>' in viewer_page


def test_the_history_counts_imports_in_the_plural_and_never_marks_zero_invalid_rows(importer, org):
    customer = CustomerFactory(organization=org)
    clean = csv_bytes([contact_row(customer, "C-9", "ann@client.example")])
    commit_import(
        organization=org,
        data=clean,
        filename="clean.csv",
        now=datetime.datetime(2026, 5, 4, tzinfo=datetime.UTC),
    )
    committed_batch(org)
    committed_batch(OrganizationFactory())

    content = importer.get(HISTORY).content.decode()

    assert "<h1>Import history</h1>" in content
    assert "3 imports" in content
    assert '<td class="field-invalid_rows"><span class="count-zero">0</span></td>' in content
    assert content.count('<span class="count-problem">1</span>') == 2
