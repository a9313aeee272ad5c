"""The files of committed (and failed) imports, kept in Django's default storage for the history.

Local disk by default (MEDIA_ROOT, files 0600 in folders 0700: FILE_UPLOAD_PERMISSIONS), an
S3-compatible bucket when DJANGO_S3_BUCKET is set. A file is written only once its import's
transaction has ended, so a rollback or a killed worker leaves no file behind; a file whose batch
never recorded it (the process died between the two) is an orphan that `sweep_imports` deletes.
Stored names are the client's name shortened to fit any file system by bytes (NAME_MAX is 255 bytes,
and "é" is two of them); the history shows the original name, kept on the batch.
"""

from __future__ import annotations

import datetime
import logging
import os

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from contacts.models import ImportBatch

logger = logging.getLogger(__name__)

FOLDER = "contact-imports"
# Django's temporary uploads before this project kept them in the database; swept like orphans.
LEGACY_PREVIEW_FOLDER = "contact-import-previews"
# Bytes of a stored file's name: far under NAME_MAX (255) with room for the storage's "_abc1234" suffix.
MAX_NAME_BYTES = 100
MAX_EXTENSION_CHARS = 10
# A file younger than this is never an orphan: its batch may be about to record it.
ORPHAN_GRACE = datetime.timedelta(hours=1)
UNFINISHED = (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING)


def stored_name(filename: str) -> str:
    """The client's file name, shortened to MAX_NAME_BYTES of UTF-8 without cutting a character."""
    base = os.path.basename((filename or "").replace("\\", "/")).strip() or "import"
    stem, extension = os.path.splitext(base)
    extension = extension[:MAX_EXTENSION_CHARS]
    budget = MAX_NAME_BYTES - len(extension.encode())
    stem = stem.encode()[:budget].decode("utf-8", errors="ignore").strip() or "import"
    return stem + extension


def store_import_file(batch: ImportBatch, data: bytes) -> None:
    """Write the file of a finished import and record it on its batch (after the import's transaction)."""
    try:
        batch.file.save(stored_name(batch.file_name), ContentFile(data), save=False)
    except OSError:
        logger.exception("Could not store the file of import %s", batch.pk)
        batch.file.name = ""
        return
    if not ImportBatch.objects.filter(pk=batch.pk).update(file=batch.file.name):
        default_storage.delete(batch.file.name)  # the batch is gone: keep no file of it
        batch.file.name = ""


def delete_expired_files(now: datetime.datetime | None = None) -> int:
    """Delete the files of imports older than CONTACT_IMPORT_FILE_RETENTION_DAYS; the batches stay.

    Every finished import's file expires: committed, failed and undone ones alike (an undone import's
    file is personal data like any other). Only a queued or running import's file is spared: its worker
    may still need it."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.CONTACT_IMPORT_FILE_RETENTION_DAYS)
    expired = (
        ImportBatch.objects.filter(created_at__lt=cutoff)
        .exclude(status__in=UNFINISHED)
        .exclude(file="")
        .values_list("pk", "file")
    )
    deleted = 0
    for pk, name in expired.iterator(chunk_size=500):
        default_storage.delete(name)
        ImportBatch.objects.filter(pk=pk).update(file="", file_deleted_at=now)
        deleted += 1
    return deleted


def delete_orphan_files(now: datetime.datetime | None = None) -> int:
    """Delete stored files that no batch records (older than ORPHAN_GRACE), and legacy previews."""
    cutoff = (now or timezone.now()) - ORPHAN_GRACE
    recorded = set(ImportBatch.objects.exclude(file="").values_list("file", flat=True).iterator())
    deleted = 0
    for folder in (FOLDER, LEGACY_PREVIEW_FOLDER):
        for name in _files_under(folder):
            if name in recorded or _modified(name) > cutoff:
                continue
            default_storage.delete(name)
            deleted += 1
    return deleted


def _files_under(folder: str) -> list[str]:
    try:
        folders, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = [f"{folder}/{name}" for name in files]
    for child in folders:
        names.extend(_files_under(f"{folder}/{child}"))
    return names


def _modified(name: str) -> datetime.datetime:
    try:
        return default_storage.get_modified_time(name)
    except (FileNotFoundError, NotImplementedError):
        return timezone.now()
