"""The import's part of a commit, inside the bulk write service's transaction: the monthly limit, no
empty commits, the ImportBatch record (the change log's entries point to it), the saved profile; and the
failed batch recorded after a rollback."""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.importing.findings import (
    ImportFailed,
    ImportRefused,
    ImportReport,
    note_earlier_import,
    refused,
    take_plan,
)
from contacts.importing.limits import check_monthly_limit
from contacts.importing.profiles import save_profile
from contacts.importing.progress import WORKER_STOPPED, Progress, Stage
from contacts.importing.stored_files import store_import_file
from contacts.models import ContactChange, ImportBatch, ImportUpload
from contacts.services.bulk import BulkHooks, InvalidRows, Written, contacts_bulk_upsert
from contacts.services.changelog import Actor
from contacts.services.rows import Plan, Problem, RowInput
from customers.models import Organization

NOTHING_TO_WRITE = _("Nothing to import: no row would create or change a contact.")
COMMIT_FAILED = _("The import failed and nothing was written: {reason}")

logger = logging.getLogger(__name__)


@dataclass
class ImportCommit(BulkHooks):
    """The import's part of the bulk write: the monthly limit, no empty commits, the batch record."""

    report: ImportReport
    data: bytes
    user: object
    skip_invalid: bool
    override_reason: str
    now: datetime.datetime
    progress: Progress | None
    batch: ImportBatch | None = None  # a background commit's running batch
    save_as_profile: bool = False
    actor: Actor | None = None  # who the change log names; None: `user`, as the admin's import
    reason: str = ""  # the override reason the limit needed ("" when none)
    row_count: int = 0

    def run(self, rows: list[RowInput]) -> ImportReport:
        report = self.report
        self.row_count = len(rows)
        try:
            contacts_bulk_upsert(
                organization=report.organization,
                rows=rows,
                actor=self.actor or Actor.staff(self.user, channel=ContactChange.Channel.IMPORT),
                skip_invalid=self.skip_invalid,
                hooks=self,
                policy=report.policy,
            )
        except ImportRefused:
            raise
        except InvalidRows as invalid:
            take_plan(report, invalid.plan)
            raise ImportRefused(invalid.messages[0], report) from None
        except ValidationError as error:
            if error.code in ("contacts_synced", "monthly_limit", "override_not_allowed"):
                raise ImportRefused(error.messages[0], refused(report, error.messages[0])) from None
            self._failed(error, " ".join(error.messages))
        except DatabaseError as error:
            self._failed(error, str(error))
        report.committed = True
        return report

    def locked(self, organization: Organization) -> None:
        self.reason = check_monthly_limit(
            organization=organization, user=self.user, override_reason=self.override_reason, now=self.now
        )
        if self.progress:
            self.progress(Stage.CHECKING, 0, self.row_count)

    def planned(self, plan: Plan) -> None:
        take_plan(self.report, plan)
        note_earlier_import(self.report, self.data)
        totals = plan.totals
        if not totals["new"] + totals["updated"]:
            # No batch: an import that changes nothing does not use up the month's import.
            raise ImportRefused(NOTHING_TO_WRITE, self.report)
        if self.progress:
            self.progress(Stage.WRITING, 0, totals["new"] + totals["updated"] + len(plan.demotions))

    def written(self, plan: Plan, written: list[Written]) -> ImportBatch:
        batch = self._record(ImportBatch.Status.COMMITTED, override_reason=self.reason)
        if self.batch is None:
            batch.save()
        if self.progress:
            self.progress(Stage.WRITING, len(written), len(written))
        if self.batch is not None:
            # Last, after every progress report: the row stays locked until the transaction ends.
            _finish_running_batch(batch)
        self.report.batch = batch
        if self.save_as_profile:
            save_profile(
                organization=plan.organization, mapping=self.report.reading.mapping(), user=self.user
            )
        return batch  # the bulk service's change log entries point to it

    def _record(self, status: str, *, override_reason: str) -> ImportBatch:
        return _batch(
            self.report,
            self.data,
            self.user,
            self.skip_invalid,
            override_reason,
            self.now,
            self.batch,
            status,
        )

    def _failed(self, error: Exception, reason_text: str) -> None:
        """The database refused the writes: rolled back; record the failed attempt, then raise."""
        report = self.report
        try:
            # After the rollback, in a transaction of its own: the failed attempt and why.
            with transaction.atomic():
                report.batch = self._record(ImportBatch.Status.FAILED, override_reason=self.override_reason)
                report.batch.failure_reason = reason_text
                report.batch.save()
        except DatabaseError:
            logger.exception("Could not record the failed import of %s", report.filename)
        else:
            store_import_file(report.batch, self.data)
        # The batch keeps the whole text; people get its first line (PostgreSQL adds LINE, DETAIL, HINT).
        first_line = (reason_text.strip().splitlines() or [""])[0]
        raise ImportFailed(COMMIT_FAILED.format(reason=first_line), report) from error


def _problems_json(report: ImportReport, problems: list[Problem]) -> list[dict]:
    return [{"row": p.row, "column": report.column(p), "message": p.message} for p in problems]


def _batch(
    report: ImportReport,
    data: bytes,
    user,
    skip_invalid: bool,
    override_reason: str,
    now: datetime.datetime,
    batch: ImportBatch | None,
    status: str,
) -> ImportBatch:
    """The batch recording the import (a background commit's running one, filled in); not saved."""
    totals = report.totals
    values = {
        "organization": report.organization,
        "user": user,
        "file_name": report.filename[:255],
        "sha256": hashlib.sha256(data).hexdigest(),
        "format": report.format,
        "status": status,
        "rows": totals["rows"],
        "new": totals["new"],
        "updated": totals["updated"],
        "unchanged": totals["unchanged"],
        "invalid": totals["invalid"],
        "warnings": _problems_json(report, report.warnings),
        "errors": _problems_json(report, report.errors),
        "override_reason": override_reason,
        "skip_invalid": skip_invalid,
        "blank_cells_clear": report.blank_clears,
        "finished_at": timezone.now(),
    }
    if batch is None:
        return ImportBatch(created_at=now, **values)
    for name, value in values.items():
        setattr(batch, name, value)
    batch.stage, batch.upload_id = "", None
    return batch


class WorkerStopped(ImportRefused):
    """A background commit was recorded as stopped while it ran (its heartbeat was late): rolled back."""


def _finish_running_batch(batch: ImportBatch) -> None:
    """Record a background commit as done, unless it was meanwhile recorded as stopped (then roll back).

    Its upload is deleted in the same transaction: a committed import keeps no preview behind.
    """
    upload_id = ImportBatch.objects.filter(pk=batch.pk).values_list("upload_id", flat=True).first()
    fields = [f.name for f in ImportBatch._meta.concrete_fields if f.name not in ("id", "file", "created_at")]
    values = {name: getattr(batch, name) for name in fields}
    if not ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.RUNNING).update(**values):
        raise WorkerStopped(str(WORKER_STOPPED))
    if upload_id is not None:
        ImportUpload.objects.filter(pk=upload_id).delete()
