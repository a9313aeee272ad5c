"""A spreadsheet import from bytes to contacts: read, map the columns, check the rows, commit.

The admin, the `import_contacts` command and the benchmark call `preview_import` (a dry run that
writes nothing) and `commit_import`: the file's rows go to the bulk write service
(`contacts.services.bulk`), which owns the transaction, the guard and the locks; the import adds its
monthly limit, its refusal of a commit that changes nothing, and its record (the ImportBatch row, which
the change log's entries of the contacts written point to) to that one transaction: all or nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.utils import timezone

from contacts.fields import ENGLISH_HEADERS
from contacts.importing.columns import map_columns
from contacts.importing.limits import check_monthly_limit
from contacts.importing.reading import FileRejected, Table, collector_paused, read_table
from contacts.models import ContactChange, ImportBatch
from contacts.services.bulk import BulkHooks, InvalidRows, Written, contacts_bulk_upsert
from contacts.services.changelog import Actor
from contacts.services.contacts import ensure_contacts_managed
from contacts.services.planning import plan_rows
from contacts.services.rows import Plan, Problem, RowInput
from customers.models import Organization

MISSING_COLUMNS = "The file lacks the mandatory column(s) {columns}; add them to the header row."
NO_DATA_ROWS = "The file has no data rows."
UNKNOWN_COLUMNS = "These columns are not part of the import and are ignored: {columns}."
DUPLICATED_COLUMNS = "These columns repeat an earlier column and are ignored: {columns}."
NOTHING_TO_WRITE = "Nothing to import: no row would create or change a contact."
COMMIT_FAILED = "The import failed and nothing was written: {reason}"

Progress = Callable[[str], None]
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
        column = self.column(problem)
        if problem.row is None:
            return f'"{column}": {problem.message}' if column else problem.message
        if column:
            return f'Row {problem.row}, "{column}": {problem.message}'
        return f"Row {problem.row}: {problem.message}"

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
        column = self.column(problem)
        return f'"{column}": {problem.message}' if column else problem.message


def _file_problem(message: str) -> Problem:
    return Problem(row=None, field=None, message=message)


def _read(
    organization: Organization, data: bytes, filename: str, progress: Progress | None
) -> tuple[ImportReport, list[RowInput]]:
    """Everything before the rules: the file and its columns. No query."""
    report = ImportReport(organization=organization, filename=os.path.basename(filename or ""), format="")
    if progress:
        progress("Reading the file…")
    try:
        table = read_table(data, filename=filename)
    except FileRejected as error:
        report.errors.append(_file_problem(str(error)))
        return report, []
    report.table, report.format = table, table.format
    columns = map_columns(table.headers)
    report.column_labels = dict(columns.headers)
    if columns.missing:
        missing = ", ".join(f'"{header}"' for header in columns.missing)
        report.errors.append(_file_problem(MISSING_COLUMNS.format(columns=missing)))
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
    positions = list(columns.positions.items())
    rows = [
        RowInput(row=number, values={name: cells[index] for name, index in positions}, trimmed=True)
        for number, cells in table.rows
    ]
    return report, rows


def _planned(report: ImportReport, plan: Plan) -> None:
    report.plan = plan
    report.totals = plan.totals
    report.warnings.extend(plan.warnings)
    report.errors.extend(plan.errors)


def preview_import(
    *, organization: Organization, data: bytes, filename: str, progress: Progress | None = None
) -> ImportReport:
    """A dry run: what the import would do, with every problem found. Writes nothing, locks nothing."""
    with collector_paused():
        try:
            ensure_contacts_managed(organization)
        except ValidationError as error:
            report = ImportReport(
                organization=organization, filename=os.path.basename(filename or ""), format=""
            )
            return _refused(report, error.messages[0])
        report, rows = _read(organization, data, filename, progress)
        if not report.errors:
            if progress:
                progress(f"Checking {len(rows):,} rows…")
            _planned(report, plan_rows(organization=organization, rows=rows))
    return report


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
) -> ImportReport:
    """Import the file in one transaction and record it as an ImportBatch.

    Raises ImportRefused (nothing written) for a file-level problem, the monthly limit, an organization
    still synced, or invalid rows without `skip_invalid`; ImportFailed when the database refuses the
    writes (rolled back, recorded as a failed batch). `user` None is the command line.
    """
    with collector_paused():
        report, rows = _read(organization, data, filename, progress)
        if report.errors:
            raise ImportRefused(report.errors[0].message, report)
        commit = _ImportCommit(
            report, data, user, skip_invalid, override_reason, now or timezone.now(), progress
        )
        return commit.run(rows)


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
    reason: str = ""  # the override reason the limit needed ("" when none)
    stored_name: str = ""  # the committed file's name in storage, once saved
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
            self.progress(f"Checking {self.row_count:,} rows…")

    def planned(self, plan: Plan) -> None:
        _planned(self.report, plan)
        totals = plan.totals
        if not totals["new"] + totals["updated"]:
            # No batch: an import that changes nothing does not use up the month's import.
            raise ImportRefused(NOTHING_TO_WRITE, self.report)
        if self.progress:
            self.progress("Writing the contacts…")

    def written(self, plan: Plan, written: list[Written]) -> ImportBatch:
        batch = _batch(
            self.report,
            self.data,
            self.user,
            self.skip_invalid,
            self.reason,
            self.now,
            ImportBatch.Status.COMMITTED,
        )
        self.stored_name = batch.file.name
        batch.save()
        self.report.batch = batch
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
                self.stored_name,
                reason_text,
            )
        except DatabaseError:
            logger.exception("Could not record the failed import of %s", report.filename)
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
    status: str,
    stored_name: str = "",
) -> ImportBatch:
    totals = report.totals
    batch = ImportBatch(
        organization=report.organization,
        user=user,
        file_name=report.filename[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        format=report.format,
        status=status,
        rows=totals["rows"],
        new=totals["new"],
        updated=totals["updated"],
        unchanged=totals["unchanged"],
        invalid=totals["invalid"],
        warnings=_problems_json(report, report.warnings),
        errors=_problems_json(report, report.errors),
        override_reason=override_reason,
        skip_invalid=skip_invalid,
        created_at=now,
        finished_at=timezone.now(),
    )
    if stored_name:
        batch.file.name = stored_name
    else:
        batch.file.save(report.filename or "import", ContentFile(data), save=False)
    return batch


def _record_failure(
    report: ImportReport,
    data: bytes,
    user,
    skip_invalid: bool,
    override_reason: str,
    now: datetime.datetime,
    stored_name: str,
    reason: str,
) -> ImportBatch:
    """After the rollback, in a transaction of its own: the failed attempt and why."""
    with transaction.atomic():
        batch = _batch(
            report, data, user, skip_invalid, override_reason, now, ImportBatch.Status.FAILED, stored_name
        )
        batch.failure_reason = reason
        batch.save()
    return batch
