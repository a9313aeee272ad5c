"""The files imports keep: names that fit any file system, private, written only for a finished import,
and deleted when orphaned, abandoned or past the retention period (issue 13, defects 3 and 4)."""

import datetime
import io
import os
import stat

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from contacts.importing import pipeline
from contacts.models import Contact, ImportBatch
from contacts.services import changelog
from tests.factories import CustomerFactory, OrganizationFactory
from tests.helpers import CONFIRM, committed_batch, contact_row, csv_bytes, stored_previews, uploaded

pytestmark = pytest.mark.django_db


def one_row(org) -> bytes:
    customer = CustomerFactory(organization=org)
    return csv_bytes([contact_row(customer, "C-1", "ann@client.example")])


def files_under(media_root) -> list:
    return sorted(path for path in media_root.rglob("*") if path.is_file())


@pytest.mark.parametrize("name", ["é" * 130 + ".csv", "表" * 90 + ".csv"], ids=["accents", "chinese"])
def test_a_long_non_ascii_file_name_is_confirmed_and_kept_for_display(importer, org, name):
    key = uploaded(importer, org, one_row(org), name=name)

    response = importer.post(CONFIRM, key)

    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert batch.file_name == name
    stored = os.path.basename(batch.file.name)
    assert len(stored.encode()) <= 108  # 100 bytes, and the "_abc1234" the storage may add
    assert stored.endswith(".csv")
    assert batch.file.read() == one_row(org) or batch.file.size > 0
    download = importer.get(reverse("admin:contacts_importbatch_file", args=[batch.pk]))
    assert "filename*=utf-8''" in download["Content-Disposition"]


def test_stored_names_are_cut_by_bytes_without_splitting_a_character():
    from contacts.importing.stored_files import MAX_NAME_BYTES, stored_name

    assert stored_name("clients.csv") == "clients.csv"
    assert stored_name("../../etc/passwd") == "passwd"
    assert stored_name("C:\\Users\\ann\\contacts.xlsx") == "contacts.xlsx"
    assert stored_name("") == "import"
    long = stored_name("表" * 90 + ".xlsx")
    assert len(long.encode()) <= MAX_NAME_BYTES
    assert long == "表" * ((MAX_NAME_BYTES - len(".xlsx")) // 3) + ".xlsx"


def test_a_committed_file_is_readable_by_the_server_user_only(org, media_root):
    batch = committed_batch(org)

    path = media_root / batch.file.name

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700


def test_a_commit_that_dies_mid_transaction_leaves_no_file_behind(org, media_root, monkeypatch):
    # What a worker killed mid-commit does: the transaction never ends (here: an exception no handler
    # catches, once the contacts and the batch row are written, when the change rows are).
    def killed(*args, **kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(changelog, "record", killed)

    with pytest.raises(SystemExit):
        pipeline.commit_import(organization=org, data=one_row(org), filename="clients.csv")

    assert ImportBatch.objects.count() == Contact.objects.count() == 0
    assert files_under(media_root) == []


def test_the_sweep_deletes_orphan_files_and_keeps_recorded_and_recent_ones(org, media_root):
    batch = committed_batch(org)
    folder = media_root / "contact-imports" / "2026" / "01"
    folder.mkdir(parents=True, exist_ok=True)
    orphan, recent_orphan = folder / "orphan.csv", folder / "being-recorded.csv"
    legacy = media_root / "contact-import-previews" / ("a" * 32)
    legacy.parent.mkdir(parents=True)
    for path in (orphan, recent_orphan, legacy):
        path.write_bytes(b"x")
    two_hours_ago = (timezone.now() - datetime.timedelta(hours=2)).timestamp()
    for path in (orphan, legacy):
        os.utime(path, (two_hours_ago, two_hours_ago))

    call_command("sweep_imports", stdout=io.StringIO())

    assert files_under(media_root) == sorted([media_root / batch.file.name, recent_orphan])


def test_files_past_the_retention_period_are_deleted_and_the_history_keeps_the_import(
    org, media_root, settings, superuser_client
):
    settings.CONTACT_IMPORT_FILE_RETENTION_DAYS = 90
    old, recent = committed_batch(org), committed_batch(OrganizationFactory())
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=91))
    old_path = media_root / old.file.name

    out = io.StringIO()
    call_command("sweep_imports", stdout=out)

    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old_path.exists()
    assert (old.file.name, old.new, old.invalid, len(old.errors)) == ("", 1, 1, 1)
    assert old.file_deleted_at is not None
    assert (media_root / recent.file.name).exists()
    assert "files past the retention period deleted: 1" in out.getvalue()
    history = superuser_client.get(reverse("admin:contacts_importbatch_changelist")).content.decode()
    assert "file deleted after the retention period" in history
    assert superuser_client.get(reverse("admin:contacts_importbatch_file", args=[old.pk])).status_code == 404
    report = superuser_client.get(reverse("admin:contacts_importbatch_error_report", args=[old.pk, "csv"]))
    assert report.status_code == 200


@pytest.mark.parametrize(("status", "expires"), [("undone", True), ("queued", False), ("running", False)])
def test_an_old_undone_imports_file_expires_and_an_unfinished_ones_does_not(
    org, media_root, settings, status, expires
):
    settings.CONTACT_IMPORT_FILE_RETENTION_DAYS = 90
    batch = committed_batch(org)
    long_ago = timezone.now() - datetime.timedelta(days=91)
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=long_ago, status=status)

    call_command("sweep_imports", stdout=io.StringIO())

    assert (media_root / batch.file.name).exists() is not expires
    batch.refresh_from_db()
    assert (batch.file_deleted_at is not None) is expires


def test_an_upload_keeps_no_file_on_disk_and_is_gone_once_committed(importer, org, media_root):
    key = uploaded(importer, org, one_row(org))
    assert files_under(media_root) == []
    assert stored_previews() == [key["file"]]

    importer.post(CONFIRM, key)

    assert stored_previews() == []
    assert [path.relative_to(media_root).parts[0] for path in files_under(media_root)] == ["contact-imports"]
