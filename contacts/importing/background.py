"""A big file's preview and commit as a worker runs them (contacts.tasks queues them).

Each run claims its row (queued → running) so that two workers never run it twice, reports its
progress on that row (contacts.importing.progress) and records how it ended: a preview keeps its report
on the upload, a commit fills in its batch. A worker that dies mid-run records nothing: the database
rolls the commit back, and the stale heartbeat shows the run as failed.
"""

from __future__ import annotations

import logging

from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.importing.commit import WorkerStopped
from contacts.importing.findings import ImportFailed, ImportRefused
from contacts.importing.pipeline import commit_import, preview_import
from contacts.importing.progress import ProgressRecorder, Stage
from contacts.importing.uploads import pack_report, upload_data, upload_mapping
from contacts.models import ImportBatch, ImportUpload

logger = logging.getLogger(__name__)

UPLOAD_GONE = _(
    "The uploaded file is no longer available (it expired or was already imported); upload it again."
)
UNEXPECTED = _("The import stopped on an unexpected error and nothing was written; the error is logged.")


def _claim(model: type[ImportBatch] | type[ImportUpload], pk: int) -> bool:
    now = timezone.now()
    return bool(
        model.objects.filter(pk=pk, status=model.Status.QUEUED).update(
            status=model.Status.RUNNING, stage=Stage.READING, started_at=now, heartbeat_at=now
        )
    )


def _fail(model: type[Model], pk: int, reason: str, **values) -> None:
    model.objects.filter(pk=pk, status=model.Status.RUNNING).update(
        status=model.Status.FAILED, failure_reason=reason, **values
    )


def run_preview(upload_id: int) -> None:
    """Preview a kept upload and keep the report on it for the preview page."""
    if not _claim(ImportUpload, upload_id):
        return
    upload = ImportUpload.objects.defer("data", "preview").select_related("organization").get(pk=upload_id)
    data = upload_data(upload)
    if data is None:
        _fail(ImportUpload, upload_id, str(UPLOAD_GONE))
        return
    try:
        with ProgressRecorder(ImportUpload, upload_id).beating() as progress:
            report = preview_import(
                organization=upload.organization,
                data=data,
                filename=upload.file_name,
                mapping=upload_mapping(upload),
                blank_clears=upload.blank_clears,
                progress=progress,
            )
            packed = pack_report(report)
    except Exception:
        logger.exception("The background preview of upload %s failed", upload_id)
        _fail(ImportUpload, upload_id, str(UNEXPECTED))
        raise
    ImportUpload.objects.filter(pk=upload_id, status=ImportUpload.Status.RUNNING).update(
        status=ImportUpload.Status.PREVIEWED, preview=packed, stage="", heartbeat_at=timezone.now()
    )


def run_commit(batch_id: int, override_reason: str = "") -> None:
    """Commit a kept upload into its queued batch; a refusal or a failure is recorded on the batch."""
    if not _claim(ImportBatch, batch_id):
        return
    batch = ImportBatch.objects.select_related("organization", "user").get(pk=batch_id)
    upload = ImportUpload.objects.defer("data", "preview").filter(pk=batch.upload_id).first()
    data = upload_data(upload) if upload is not None else None
    if data is None:
        _fail(ImportBatch, batch_id, str(UPLOAD_GONE), finished_at=timezone.now())
        return
    mapping = upload_mapping(upload)  # chosen in the mapping step: saved as the organization's profile
    try:
        with ProgressRecorder(ImportBatch, batch_id).beating() as progress:
            commit_import(
                organization=batch.organization,
                data=data,
                filename=batch.file_name,
                user=batch.user,
                skip_invalid=batch.skip_invalid,
                override_reason=override_reason,
                progress=progress,
                batch=batch,
                mapping=mapping,
                save_as_profile=mapping is not None,
                blank_clears=upload.blank_clears,
            )
    except (ImportFailed, WorkerStopped):
        return  # recorded on the batch by the pipeline, or by whoever saw the worker stop
    except ImportRefused as refusal:
        _refused(batch_id, str(refusal), refusal.report)
    except Exception:
        logger.exception("The background commit of import %s failed", batch_id)
        _fail(ImportBatch, batch_id, str(UNEXPECTED), finished_at=timezone.now())
        raise


def _refused(batch_id: int, reason: str, report) -> None:
    """Nothing was written: the batch says why, with the rows' problems; the upload stays for a retry."""
    values = {"finished_at": timezone.now(), "stage": ""}
    if report is not None:
        totals = report.totals
        values.update(
            format=report.format,
            rows=totals["rows"],
            new=totals["new"],
            updated=totals["updated"],
            unchanged=totals["unchanged"],
            invalid=totals["invalid"],
            errors=[{"row": p.row, "column": report.column(p), "message": p.message} for p in report.errors],
            warnings=[
                {"row": p.row, "column": report.column(p), "message": p.message} for p in report.warnings
            ],
        )
    _fail(ImportBatch, batch_id, reason, **values)
