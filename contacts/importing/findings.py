"""What an import found and did, as the admin, the command line and the error report show it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from contacts.fields import ENGLISH_HEADERS
from contacts.importing import reimport
from contacts.importing.interpretation import Reading
from contacts.importing.reading import Table
from contacts.models import ImportBatch
from contacts.services.rows import Plan, Problem, RowPolicy, problem_label
from customers.models import Organization


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
            # The columns not named by the article's headers, and how each was read (alias, guess…).
            "columns": self.reading.column_readings() if self.reading is not None else [],
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


def file_problem(message: str) -> Problem:
    return Problem(row=None, field=None, message=message)


def take_plan(report: ImportReport, plan: Plan) -> None:
    report.plan = plan
    report.totals = plan.totals
    report.warnings.extend(plan.warnings)
    report.errors.extend(plan.errors)


def refused(report: ImportReport, message: str) -> ImportReport:
    report.errors.append(file_problem(message))
    return report


def note_earlier_import(report: ImportReport, data: bytes) -> None:
    """The committed import this file repeats, and the rows that would set back a change made since."""
    report.earlier_import = reimport.earlier_import(report.organization, hashlib.sha256(data).hexdigest())
    if report.earlier_import is not None and report.plan is not None:
        report.warnings.extend(reimport.changes_set_back(batch=report.earlier_import, plan=report.plan))
