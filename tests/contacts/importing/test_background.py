"""Big files in a worker: queued by the admin, run by `import_worker`, followed on the progress page."""

import io
import re
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from contacts import db_bulk
from contacts.admin.import_preview import PAGE_SIZE
from contacts.importing import commit, pipeline, progress
from contacts.importing.pipeline import commit_import, preview_import
from contacts.importing.progress import (
    WORKER_STOPPED,
    ProgressRecorder,
    Stage,
    mark_stopped_workers,
    progress_alias,
)
from contacts.models import Contact, ContactChange, ImportBatch, ImportUpload
from contacts.services.bulk import INVALID_ROWS
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import CONFIRM, PREVIEW, UPLOAD, contact_row, csv_bytes, uploaded

# The worker commits; on PostgreSQL progress goes through a second connection ("progress").
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

HISTORY = reverse("admin:contacts_importbatch_changelist")


@pytest.fixture(autouse=True)
def background_from_ten_rows(settings):
    settings.CONTACT_IMPORT_BACKGROUND_ROWS = 10


def rows_file(customer, count: int, bad: int = 0) -> bytes:
    rows = [contact_row(customer, f"C-{i}", f"c{i}@client.example") for i in range(count)]
    rows += [contact_row(customer, f"BAD-{i}", "not-an-email") for i in range(bad)]
    return csv_bytes(rows)


def run_worker() -> None:
    """Run every queued task, then stop (the worker's own command, in this process)."""
    options = ["--batch", "--no-reload", "--no-startup-delay", "--sweep-every=0"]
    call_command("import_worker", *options, stdout=io.StringIO())


def status_of(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    return response.json()


def test_a_big_file_is_previewed_and_committed_by_the_worker_with_a_progress_page(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, rows_file(customer, 30), name="clients.csv")
    upload = ImportUpload.objects.get()

    to_progress = importer.get(PREVIEW, key)
    page = importer.get(to_progress["Location"])
    status_url = reverse("admin:contacts_import_preview_status", args=[upload.token])
    queued = status_of(importer, status_url)
    run_worker()
    done = status_of(importer, status_url)

    assert to_progress["Location"] == reverse("admin:contacts_import_preview_progress", args=[upload.token])
    content = page.content.decode()
    assert f'data-status-url="{status_url}"' in content
    assert "contacts/import-progress.js" in content
    assert not re.search(r"<script(?![^>]*\bsrc=)", content)  # no inline script: a strict CSP allows it
    assert queued["status"] == "queued"
    assert done["status"] == "done"
    preview = importer.get(done["next"])
    assert preview.context["report"].totals == {
        "rows": 30,
        "new": 30,
        "updated": 0,
        "unchanged": 0,
        "invalid": 0,
    }
    assert len(preview.context["sections"]["new"]["rows"]) == 30
    assert Contact.objects.count() == 0

    confirm = importer.post(CONFIRM, key)
    batch = ImportBatch.objects.get()
    batch_status = reverse("admin:contacts_import_status", args=[batch.pk])
    assert confirm["Location"] == reverse("admin:contacts_import_progress", args=[batch.pk])
    assert status_of(importer, batch_status)["status"] == "queued"
    run_worker()

    assert status_of(importer, batch_status) == {
        "status": "done",
        "next": reverse("admin:contacts_importbatch_change", args=[batch.pk]),
    }
    batch.refresh_from_db()
    assert (batch.status, batch.new, batch.file_name) == ("committed", 30, "clients.csv")
    assert batch.user == importer.user
    assert batch.file.read() == rows_file(customer, 30)
    assert Contact.objects.count() == ContactChange.objects.count() == 30
    assert not ImportUpload.objects.exists()  # committed: the kept upload is gone
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 2


def test_small_files_are_previewed_and_committed_at_once_without_a_worker(importer, org, settings):
    settings.CONTACT_IMPORT_BACKGROUND_ROWS = 5_000
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, rows_file(customer, 30))

    preview = importer.get(PREVIEW, key)
    importer.post(CONFIRM, key)

    assert preview.status_code == 200
    assert Contact.objects.count() == 30
    assert not DBTaskResult.objects.exists()


def test_leaving_and_coming_back_the_upload_page_and_history_list_the_imports_in_progress(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, rows_file(customer, 30), name="big.csv")
    importer.get(PREVIEW, key)
    upload = ImportUpload.objects.get()
    run_worker()
    importer.post(CONFIRM, key)
    batch = ImportBatch.objects.get()
    history_reader = importer
    history_reader.user.user_permissions.add(*_permissions("view_importbatch"))

    form = importer.get(UPLOAD).content.decode()
    history = history_reader.get(HISTORY).content.decode()

    assert reverse("admin:contacts_import_preview_progress", args=[upload.token]) in form
    assert "big.csv" in form
    assert reverse("admin:contacts_import_progress", args=[batch.pk]) in history
    assert "Waiting for a worker" in history


def test_progress_is_reported_by_stage_in_batches_of_rows_not_per_row(org, monkeypatch):
    customer = CustomerFactory(organization=org)
    data = rows_file(customer, 2_500)
    previewed, committed = [], []

    preview_import(organization=org, data=data, filename="a.csv", progress=lambda *r: previewed.append(r))
    commit_import(organization=org, data=data, filename="a.csv", progress=lambda *r: committed.append(r))

    assert previewed == [
        (Stage.READING, 0, 0),
        (Stage.READING, 2_500, 2_500),
        (Stage.CHECKING, 0, 2_500),
        (Stage.CHECKING, 2_500, 2_500),
    ]
    assert committed == [
        (Stage.READING, 0, 0),
        (Stage.READING, 2_500, 2_500),
        (Stage.CHECKING, 0, 2_500),
        (Stage.WRITING, 0, 2_500),
        (Stage.WRITING, 2_500, 2_500),
    ]


def test_the_recorder_writes_one_update_a_second_at_most_and_each_is_a_heartbeat(
    org, monkeypatch, django_assert_num_queries
):
    batch = ImportBatch.objects.create(
        organization=org, file_name="a.csv", sha256="0", status=ImportBatch.Status.RUNNING
    )
    clock = [100.0]
    monkeypatch.setattr("contacts.importing.progress.time.monotonic", lambda: clock[0])
    record = ProgressRecorder(ImportBatch, batch.pk)

    with django_assert_num_queries(2, using=record.rows.db):
        record(Stage.CHECKING, 0, 1_000)  # a new stage: written
        for done in range(100, 1_000, 100):
            record(Stage.CHECKING, done, 1_000)  # within the second: kept for later
        clock[0] += 1.5
        record(Stage.CHECKING, 1_000, 1_000)  # a second later: written

    batch.refresh_from_db()
    assert (batch.stage, batch.rows_done, batch.rows_total) == ("checking", 1_000, 1_000)
    assert batch.heartbeat_at is not None


def test_a_refused_background_commit_is_recorded_on_its_batch_and_writes_nothing(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, rows_file(customer, 20, bad=3))
    importer.get(PREVIEW, key)
    run_worker()

    importer.post(CONFIRM, key)  # without "skip invalid rows"
    run_worker()

    batch = ImportBatch.objects.get()
    state = status_of(importer, reverse("admin:contacts_import_status", args=[batch.pk]))
    assert (batch.status, batch.invalid, len(batch.errors)) == ("failed", 3, 3)
    assert batch.failure_reason == INVALID_ROWS.format(count=3)
    assert state["status"] == "failed"
    assert INVALID_ROWS.format(count=3) in state["message"]
    assert Contact.objects.count() == 0
    assert not batch.file
    assert ImportUpload.objects.exists()  # kept: back to the preview to skip the invalid rows
    progress_page = importer.get(reverse("admin:contacts_import_progress", args=[batch.pk])).content.decode()
    assert 'id="back-to-preview"' in progress_page


def test_a_background_commit_the_database_refuses_fails_on_its_own_batch(importer, org, monkeypatch):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, rows_file(customer, 20))
    importer.get(PREVIEW, key)
    run_worker()
    importer.post(CONFIRM, key)

    def refuse(*args, **kwargs):
        from django.db import DatabaseError

        raise DatabaseError("disk full")

    monkeypatch.setattr(db_bulk, "insert_rows", refuse)
    run_worker()

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.failure_reason) == ("failed", "disk full")
    assert Contact.objects.count() == ContactChange.objects.count() == 0


def test_an_import_whose_worker_stopped_reporting_shows_failed_worker_stopped(importer, org, settings):
    settings.CONTACT_IMPORT_HEARTBEAT_TIMEOUT = 30
    late = timezone.now() - timedelta(seconds=31)
    stopped = ImportBatch.objects.create(
        organization=org,
        user=importer.user,
        file_name="a.csv",
        sha256="0",
        status=ImportBatch.Status.RUNNING,
        stage=Stage.WRITING,
        started_at=late,
        heartbeat_at=late,
    )
    alive = ImportBatch.objects.create(
        organization=org,
        user=importer.user,
        file_name="b.csv",
        sha256="0",
        status=ImportBatch.Status.RUNNING,
        started_at=late,
        heartbeat_at=timezone.now() - timedelta(seconds=5),
    )

    state = status_of(importer, reverse("admin:contacts_import_status", args=[stopped.pk]))

    stopped.refresh_from_db()
    alive.refresh_from_db()
    assert (stopped.status, stopped.failure_reason) == ("failed", str(WORKER_STOPPED))
    assert state["status"] == "failed"
    assert state["message"].startswith("Failed: worker stopped")
    assert alive.status == "running"
    assert mark_stopped_workers() == 0


def test_a_commit_recorded_as_stopped_while_it_ran_rolls_back(importer, org, monkeypatch):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, rows_file(customer, 20))
    importer.get(PREVIEW, key)
    run_worker()
    importer.post(CONFIRM, key)
    real_planned = commit.ImportCommit.planned

    def seen_as_stopped(self, plan):
        # What another process does when this worker's heartbeat is late (a long pause). On SQLite, one
        # writer at a time: it happens in the commit's own transaction, and the rollback undoes it too.
        ImportBatch.objects.using(progress_alias()).update(
            status=ImportBatch.Status.FAILED, failure_reason=str(WORKER_STOPPED)
        )
        real_planned(self, plan)

    monkeypatch.setattr(commit.ImportCommit, "planned", seen_as_stopped)
    run_worker()

    batch = ImportBatch.objects.get()
    assert batch.status == ("running" if connection.vendor == "sqlite" else "failed")
    assert Contact.objects.count() == ContactChange.objects.count() == 0
    assert not batch.file
    assert ImportUpload.objects.exists()


def test_confirming_twice_queues_one_commit(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, rows_file(customer, 20))
    importer.get(PREVIEW, key)
    run_worker()

    first = importer.post(CONFIRM, key)
    second = importer.post(CONFIRM, key)

    assert first["Location"] == second["Location"]
    assert ImportBatch.objects.count() == 1


def test_another_users_progress_is_not_shown(importer, org):
    from tests.helpers import staff_client

    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, rows_file(customer, 20))
    importer.get(PREVIEW, key)
    upload = ImportUpload.objects.get()
    intruder = staff_client("import_contacts")

    for name in ("admin:contacts_import_preview_progress", "admin:contacts_import_preview_status"):
        assert intruder.get(reverse(name, args=[upload.token])).status_code == 404


def _permissions(*codenames):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="contacts", codename__in=codenames)


def test_a_long_step_that_reports_nothing_still_beats(importer, org, monkeypatch):
    # A big workbook parsed in its child process reports nothing for seconds: the heartbeat goes on.
    monkeypatch.setattr(progress, "BEAT_EVERY", 0.05)
    real_read, real_update = pipeline.read_table, ProgressRecorder._update
    beats = []

    def slow_read(data, **options):
        time.sleep(0.6)
        return real_read(data, **options)

    def recorded_update(self, **values):
        if threading.current_thread().name == "import-heartbeat":
            beats.append(set(values))
        return real_update(self, **values)

    monkeypatch.setattr(pipeline, "read_table", slow_read)
    monkeypatch.setattr(ProgressRecorder, "_update", recorded_update)
    customer = CustomerFactory(organization=org)
    importer.get(PREVIEW, uploaded(importer, org, rows_file(customer, 20)))
    run_worker()

    assert len(beats) >= 3
    assert all(values == {"heartbeat_at"} for values in beats)
    assert ImportUpload.objects.get().status == "previewed"


def test_a_background_preview_pages_through_its_kept_rows_with_their_changes(importer, org):
    customer = CustomerFactory(organization=org)
    stored = ContactFactory(
        customer=customer, external_id="C-0", email="c0@client.example", first_name="Old", last_name=""
    )
    rows = [contact_row(customer, "C-0", stored.email, first_name="New")]
    rows += [contact_row(customer, f"N-{i}", f"n{i}@client.example") for i in range(PAGE_SIZE + 5)]
    key = uploaded(importer, org, csv_bytes(rows))
    importer.get(PREVIEW, key)
    run_worker()

    first = importer.get(PREVIEW, key)
    second = importer.get(PREVIEW, {**key, "new_page": 2})

    assert first.context["report"].totals["new"] == PAGE_SIZE + 5
    assert [row["external_id"] for row in second.context["sections"]["new"]["rows"]] == [
        f"N-{i}" for i in range(PAGE_SIZE, PAGE_SIZE + 5)
    ]
    [updated] = first.context["sections"]["updated"]["rows"]
    assert (updated["external_id"], updated["customer"], updated["changes"]) == (
        "C-0",
        customer,
        [("Contact's First Name", "Old", "New")],
    )
