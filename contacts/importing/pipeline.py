"""A spreadsheet import from bytes to contacts: read, map the columns, check the rows, commit.

The admin, the `import_contacts` command and the benchmark call `preview_import` (a dry run that
writes nothing) and `commit_import`, with the mapping a person gave (the admin's mapping step,
--mapping) or else the organization's saved profile (contacts.importing.interpretation says how the
file then reads, and what a person must confirm first). The file's rows go to the bulk write service
(`contacts.services.bulk`), which owns the transaction, the guard and the locks; the import adds its
monthly limit, its refusal of a commit that changes nothing, and its record (the ImportBatch row, which
the change log's entries of the contacts written point to) to that one transaction: all or nothing. The
import's file is stored once that transaction has ended (contacts.importing.stored_files).

Both report their progress through `progress(stage, rows done, rows total)` (contacts.importing.progress),
in batches of rows: the command line draws it, a background worker keeps it for the admin's progress page.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.fields import ENGLISH_HEADERS
from contacts.importing import interpretation, reimport
from contacts.importing.interpretation import Reading
from contacts.importing.limits import check_monthly_limit
from contacts.importing.mapping import Mapping
from contacts.importing.profiles import mapping_to_read_with, save_profile
from contacts.importing.progress import WORKER_STOPPED, Progress, Stage
from contacts.importing.reading import FileRejected, Table, collector_paused, read_table
from contacts.importing.stored_files import store_import_file
from contacts.models import ContactChange, ImportBatch, ImportUpload
from contacts.services.bulk import BulkHooks, InvalidRows, Written, contacts_bulk_upsert
from contacts.services.changelog import Actor
from contacts.services.contacts import ensure_contacts_managed
from contacts.services.planning import plan_rows
from contacts.services.rows import Plan, Problem, RowInput, RowPolicy, problem_label
from customers.models import Organization

NO_DATA_ROWS = _("The file has no data rows.")
UNKNOWN_COLUMNS = _("These columns are not part of the import and are ignored: {columns}.")
DUPLICATED_COLUMNS = _("These columns repeat an earlier column and are ignored: {columns}.")
NOTHING_TO_WRITE = _("Nothing to import: no row would create or change a contact.")
COMMIT_FAILED = _("The import failed and nothing was written: {reason}")

logger = logging.getLogger(__name__)


class ImportRefused(Exception):
    """The commit was refused and nothing was written; str(error) is one line for a person."""

    def __init__(self, message: str, report: ImportReport | None = None):
        super().__init__(message)
        self.report = report


class ImportFailed(ImportRefused):
    """The database refused the commit mid-way: rolled back, recorded as a failed batch."""


@dataclass
class ImportReport:
    organization: Organization
    filename: str
    format: str
    committed: bool = False
    batch: ImportBatch | None = None
    totals: dict = field(
        default_factory=lambda: {"rows": 0, "new": 0, "updated": 0, "unchanged": 0, "invalid": 0}
    )
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    column_labels: dict[str, str] = field(default_factory=dict)
    table: Table | None = None
    plan: Plan | None = None
    reading: Reading | None = None  # how the file was read, and what a person must confirm first
    # A background preview's new and updated rows, decoded page by page (contacts.importing.uploads),
    # and how many of its rows kept a stored value for a blank cell.
    kept_outcomes: dict | None = None
    blank_kept: int | None = None
    # The upload's choice: an existing contact's blank cell clears its stored value (False: keeps it).
    blank_clears: bool = False
    # The organization's latest committed import of the same file (sha256), if any.
    earlier_import: ImportBatch | None = None

    @property
    def policy(self) -> RowPolicy:
        """How the file's rows read: blank cells as chosen, exact copies of a row skipped."""
        return RowPolicy(blank_clears=self.blank_clears, skip_exact_duplicates=True)

    @property
    def file_errors(self) -> list[Problem]:
        return [problem for problem in self.errors if problem.row is None]

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def column(self, problem: Problem) -> str | None:
        if problem.field is None:
            return None
        return self.column_labels.get(problem.field) or ENGLISH_HEADERS.get(problem.field, problem.field)

    def label(self, problem: Problem) -> str:
        """'Row 7, "Contact\'s Email": "bob@acme" is not a valid email address.'"""
        return problem_label(problem.row, self.column(problem), problem.message)

    def to_json(self) -> dict:
        """The object `import_contacts --json` prints."""
        return {
            "organization": self.organization.slug,
            "file": self.filename,
            "committed": self.committed,
            "batch": self.batch.pk if self.committed and self.batch is not None else None,
            "totals": dict(self.totals),
            "errors": [
                {"row": problem.row, "column": self.column(problem), "message": problem.message}
                for problem in self.errors
            ],
            "warnings": [
                {"row": problem.row, "message": self.label_without_row(problem)} for problem in self.warnings
            ],
        }

    def label_without_row(self, problem: Problem) -> str:
        return problem_label(None, self.column(problem), problem.message)


def _file_problem(message: str) -> Problem:
    return Problem(row=None, field=None, message=message)


def _read(
    organization: Organization,
    data: bytes,
    filename: str,
    progress: Progress | None,
    mapping: Mapping | None,
    blank_clears: bool = False,
) -> tuple[ImportReport, list[RowInput]]:
    """Everything before the rules: the file, its columns and values. One query (the saved profile)."""
    report = ImportReport(
        organization=organization,
        filename=os.path.basename(filename or ""),
        format="",
        blank_clears=blank_clears,
    )
    if progress:
        progress(Stage.READING, 0, 0)
    given, source = mapping_to_read_with(organization, mapping)
    # A profile's header place is checked, not imposed: a file whose header moved goes to the mapping step.
    layout = given.layout() if source == interpretation.MAPPING else Mapping(columns=given.columns).layout()
    try:
        table = read_table(data, filename=filename, layout=layout)
    except FileRejected as error:
        report.errors.append(_file_problem(str(error)))
        return report, []
    report.table, report.format = table, table.format
    reading = interpretation.reading_of(table, given=given, source=source, organization=organization.name)
    report.reading = reading
    columns = reading.columns
    report.column_labels = dict(columns.headers)
    report.warnings.extend(_file_problem(message) for message in reading.warnings)
    if reading.errors:
        report.errors.extend(_file_problem(message) for message in reading.errors)
        return report, []
    if columns.unknown:
        unknown = ", ".join(f'"{header}"' for header in columns.unknown)
        report.warnings.append(_file_problem(UNKNOWN_COLUMNS.format(columns=unknown)))
    if columns.duplicated:
        duplicated = ", ".join(f'"{header}"' for header in columns.duplicated)
        report.warnings.append(_file_problem(DUPLICATED_COLUMNS.format(columns=duplicated)))
    if not table.rows:
        report.errors.append(_file_problem(NO_DATA_ROWS))
        return report, []
    rows = interpretation.row_inputs(table, reading)
    if progress:
        progress(Stage.READING, len(rows), len(rows))
    return report, rows


def _planned(report: ImportReport, plan: Plan) -> None:
    report.plan = plan
    report.totals = plan.totals
    report.warnings.extend(plan.warnings)
    report.errors.extend(plan.errors)


def preview_import(
    *,
    organization: Organization,
    data: bytes,
    filename: str,
    mapping: Mapping | None = None,
    progress: Progress | None = None,
    blank_clears: bool = False,
) -> ImportReport:
    """A dry run: what the import would do, with every problem found. Writes nothing, locks nothing.

    `mapping` None reads the file with the organization's saved profile, if it has one.
    `blank_clears`: an existing contact's blank cell clears its stored value (default: keeps it).
    """
    with collector_paused():
        try:
            ensure_contacts_managed(organization)
        except ValidationError as error:
            report = ImportReport(
                organization=organization, filename=os.path.basename(filename or ""), format=""
            )
            return _refused(report, error.messages[0])
        report, rows = _read(organization, data, filename, progress, mapping, blank_clears)
        if not report.errors:
            if progress:
                progress(Stage.CHECKING, 0, len(rows))
            _planned(report, plan_rows(organization=organization, rows=rows, policy=report.policy))
            _note_earlier_import(report, data)
            if progress:
                progress(Stage.CHECKING, len(rows), len(rows))
    return report


def _note_earlier_import(report: ImportReport, data: bytes) -> None:
    """The committed import this file repeats, and the rows that would set back a change made since."""
    report.earlier_import = reimport.earlier_import(report.organization, hashlib.sha256(data).hexdigest())
    if report.earlier_import is not None and report.plan is not None:
        report.warnings.extend(reimport.changes_set_back(batch=report.earlier_import, plan=report.plan))


def read_import(
    *, organization: Organization, data: bytes, filename: str, mapping: Mapping | None = None
) -> ImportReport:
    """How the file reads (its table, its reading, the problems of the file as a whole), without its rows
    checked: what the admin's mapping step shows."""
    with collector_paused():
        return _read(organization, data, filename, None, mapping)[0]


def commit_import(
    *,
    organization: Organization,
    data: bytes,
    filename: str,
    user=None,
    skip_invalid: bool = False,
    override_reason: str = "",
    now: datetime.datetime | None = None,
    progress: Progress | None = None,
    mapping: Mapping | None = None,
    save_as_profile: bool = False,
    batch: ImportBatch | None = None,
    blank_clears: bool = False,
) -> ImportReport:
    """Import the file in one transaction and record it as an ImportBatch.

    Raises ImportRefused (nothing written) for a file-level problem, the monthly limit, an organization
    still synced, or invalid rows without `skip_invalid`; ImportFailed when the database refuses the
    writes (rolled back, recorded as a failed batch). `user` None is the command line. `mapping` as for
    `preview_import`; `save_as_profile` stores how the file was read as the organization's profile, in
    the same transaction. `batch` is the running batch of a background commit, which the commit fills in
    instead of creating one. `blank_clears` as for preview_import, and recorded on the batch.
    """
    with collector_paused():
        report, rows = _read(organization, data, filename, progress, mapping, blank_clears)
        if report.errors:
            raise ImportRefused(report.errors[0].message, report)
        # Nothing shows a commit's table (the history reads the stored file): its 200,000 row lists
        # would stay in memory through the writes.
        report.table = None
        commit = _ImportCommit(
            report,
            data,
            user,
            skip_invalid,
            override_reason,
            now or timezone.now(),
            progress,
            batch,
            save_as_profile,
        )
        report = commit.run(rows)
    store_import_file(report.batch, data)
    return report


@dataclass
class _ImportCommit(BulkHooks):
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
    reason: str = ""  # the override reason the limit needed ("" when none)
    row_count: int = 0

    def run(self, rows: list[RowInput]) -> ImportReport:
        report = self.report
        self.row_count = len(rows)
        try:
            contacts_bulk_upsert(
                organization=report.organization,
                rows=rows,
                actor=Actor.staff(self.user, channel=ContactChange.Channel.IMPORT),
                skip_invalid=self.skip_invalid,
                hooks=self,
                policy=report.policy,
            )
        except ImportRefused:
            raise
        except InvalidRows as invalid:
            _planned(report, invalid.plan)
            raise ImportRefused(invalid.messages[0], report) from None
        except ValidationError as error:
            if error.code in ("contacts_synced", "monthly_limit", "override_not_allowed"):
                raise ImportRefused(error.messages[0], _refused(report, error.messages[0])) from None
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
        _planned(self.report, plan)
        _note_earlier_import(self.report, self.data)
        totals = plan.totals
        if not totals["new"] + totals["updated"]:
            # No batch: an import that changes nothing does not use up the month's import.
            raise ImportRefused(NOTHING_TO_WRITE, self.report)
        if self.progress:
            self.progress(Stage.WRITING, 0, totals["new"] + totals["updated"] + len(plan.demotions))

    def written(self, plan: Plan, written: list[Written]) -> ImportBatch:
        batch = _batch(
            self.report, self.data, self.user, self.skip_invalid, self.reason, self.now, self.batch
        )
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

    def _failed(self, error: Exception, reason_text: str) -> None:
        """The database refused the writes: rolled back; record the failed attempt, then raise."""
        report = self.report
        try:
            report.batch = _record_failure(
                report,
                self.data,
                self.user,
                self.skip_invalid,
                self.override_reason,
                self.now,
                self.batch,
                reason_text,
            )
        except DatabaseError:
            logger.exception("Could not record the failed import of %s", report.filename)
        else:
            store_import_file(report.batch, self.data)
        # The batch keeps the whole text; people get its first line (PostgreSQL adds LINE, DETAIL, HINT).
        first_line = (reason_text.strip().splitlines() or [""])[0]
        raise ImportFailed(COMMIT_FAILED.format(reason=first_line), report) from error


def _refused(report: ImportReport, message: str) -> ImportReport:
    report.errors.append(_file_problem(message))
    return report


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
    status: str = ImportBatch.Status.COMMITTED,
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


def _record_failure(
    report: ImportReport,
    data: bytes,
    user,
    skip_invalid: bool,
    override_reason: str,
    now: datetime.datetime,
    batch: ImportBatch | None,
    reason: str,
) -> ImportBatch:
    """After the rollback, in a transaction of its own: the failed attempt and why."""
    with transaction.atomic():
        batch = _batch(
            report, data, user, skip_invalid, override_reason, now, batch, ImportBatch.Status.FAILED
        )
        batch.failure_reason = reason
        batch.save()
    return batch
