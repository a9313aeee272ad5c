"""A worker process killed in the middle of a commit: nothing is written, and the import shows
"failed: worker stopped" once its heartbeat is late, not "running" forever."""

import signal
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from contacts.importing.progress import WORKER_STOPPED
from contacts.importing.uploads import keep_upload
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.tasks import start_commit
from tests.factories import CustomerFactory, UserFactory
from tests.helpers import contact_row, csv_bytes, postgresql_only, start_process, stop_process

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]

ROWS = 60_000  # long enough to be caught writing


def wait_until(condition, timeout: float, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")


def test_a_worker_killed_while_writing_leaves_nothing_and_the_import_shows_worker_stopped(
    org, settings, tmp_path
):
    settings.CONTACT_IMPORT_HEARTBEAT_TIMEOUT = 5
    customer = CustomerFactory(organization=org)
    user = UserFactory(is_superuser=True)
    data = csv_bytes([contact_row(customer, f"K-{i}", f"k{i}@client.example") for i in range(ROWS)])
    upload = keep_upload(user=user, data=data, filename="big.csv", organization=org)
    batch = start_commit(upload=upload, user=user, skip_invalid=False, override_reason="")
    media = tmp_path / "worker-media"
    worker = start_process(
        ["import_worker", "--no-reload", "--interval", "0.1", "--sweep-every", "0"],
        DJANGO_MEDIA_ROOT=str(media),
    )
    try:
        wait_until(lambda: ImportBatch.objects.filter(pk=batch.pk, stage="writing").exists(), timeout=120)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=20)
    finally:
        stop_process(worker)
    killed_at = time.monotonic()
    client = Client()
    client.force_login(user)
    status_url = reverse("admin:contacts_import_status", args=[batch.pk])

    state = wait_until(
        lambda: (answer := client.get(status_url).json())["status"] == "failed" and answer,
        timeout=60,
        every=0.5,
    )

    assert time.monotonic() - killed_at < 60
    assert state["message"].startswith("Failed: worker stopped")
    batch.refresh_from_db()
    assert (batch.status, batch.failure_reason) == ("failed", str(WORKER_STOPPED))
    assert Contact.objects.count() == ContactChange.objects.count() == 0
    assert not batch.file
    assert not [path for path in media.rglob("*") if path.is_file()]
    assert DBTaskResult.objects.get(id=batch.task_id).status == "FAILED"  # not RUNNING forever either
