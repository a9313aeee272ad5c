"""Background tasks (django-tasks, database backend): a big file's preview and commit.

The admin queues them (`start_preview`, `start_commit`) and `manage.py import_worker` runs them, on any
machine that reaches the database. The work itself is in contacts.importing.background, in the language
of the request that queued it (its messages are kept and shown to the person who asked).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import translation
from django_tasks import task

from contacts.importing import background
from contacts.models import ImportBatch, ImportUpload


@task()
def preview_upload(upload_id: int, language: str | None = None) -> None:
    # Queued without one (before languages were recorded): the worker's own (import_worker --language).
    with translation.override(language or translation.get_language()):
        background.run_preview(upload_id)


@task()
def commit_upload(batch_id: int, override_reason: str = "", language: str | None = None) -> None:
    with translation.override(language or translation.get_language()):
        background.run_commit(batch_id, override_reason)


def start_preview(upload: ImportUpload) -> None:
    """Queue the preview of a kept upload, unless it is queued, running or done already."""
    if not ImportUpload.objects.filter(pk=upload.pk, status=ImportUpload.Status.UPLOADED).update(
        status=ImportUpload.Status.QUEUED
    ):
        return
    result = preview_upload.enqueue(upload.pk, language=translation.get_language())
    ImportUpload.objects.filter(pk=upload.pk).update(task_id=str(result.id))


def start_commit(*, upload: ImportUpload, user, skip_invalid: bool, override_reason: str) -> ImportBatch:
    """Queue the commit of a kept upload as a batch waiting for a worker; a second confirm of the same
    upload while the first is queued or running gets the first."""
    with transaction.atomic():
        pending = ImportBatch.objects.filter(
            upload=upload, status__in=[ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING]
        ).first()
        if pending is not None:
            return pending
        batch = ImportBatch.objects.create(
            organization=upload.organization,
            user=user,
            file_name=upload.file_name,
            sha256=upload.sha256,
            status=ImportBatch.Status.QUEUED,
            skip_invalid=skip_invalid,
            upload=upload,
        )
        result = commit_upload.enqueue(batch.pk, override_reason, language=translation.get_language())
        batch.task_id = str(result.id)
        batch.save(update_fields=["task_id"])
    return batch
