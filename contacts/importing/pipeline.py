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
import os

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.importing import interpretation
from contacts.importing.commit import ImportCommit
from contacts.importing.findings import (
    ImportRefused,
    ImportReport,
    file_problem,
    note_earlier_import,
    refused,
    take_plan,
)
from contacts.importing.mapping import Mapping
from contacts.importing.profiles import mapping_to_read_with
from contacts.importing.progress import Progress, Stage
from contacts.importing.reading import FileRejected, collector_paused, read_table
from contacts.importing.row_marks import without_template_example
from contacts.importing.stored_files import store_import_file
from contacts.models import ImportBatch
from contacts.services.changelog import Actor
from contacts.services.contacts import ensure_contacts_managed
from contacts.services.planning import plan_rows
from contacts.services.rows import RowInput
from customers.models import Organization

NO_DATA_ROWS = _("The file has no data rows.")
UNKNOWN_COLUMNS = _("These columns are not part of the import and are ignored: {columns}.")
GUESSES_UNCONFIRMED = _(
    "Not imported: the columns {columns} are read by a name close to theirs, a guess nobody confirmed; "
    "check that this is what they mean, then confirm them."
)


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
        report.errors.append(file_problem(str(error)))
        return report, []
    report.table, report.format = table, table.format
    reading = interpretation.reading_of(table, given=given, source=source, organization=organization.name)
    report.reading = reading
    columns = reading.columns
    report.column_labels = dict(columns.headers)
    report.warnings.extend(file_problem(message) for message in reading.warnings)
    if reading.errors:
        report.errors.extend(file_problem(message) for message in reading.errors)
        return report, []
    if columns.unknown:
        unknown = ", ".join(f'"{header}"' for header in columns.unknown)
        report.warnings.append(file_problem(UNKNOWN_COLUMNS.format(columns=unknown)))
    report.warnings.extend(file_problem(message) for message in interpretation.repeated_columns(columns))
    if not table.rows:
        report.errors.append(file_problem(NO_DATA_ROWS))
        return report, []
    rows, example = without_template_example(interpretation.row_inputs(table, reading))
    report.warnings.extend(file_problem(message) for message in example)
    if not rows:
        report.errors.append(file_problem(NO_DATA_ROWS))
        return report, []
    if progress:
        progress(Stage.READING, len(rows), len(rows))
    return report, rows


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
            return refused(report, error.messages[0])
        report, rows = _read(organization, data, filename, progress, mapping, blank_clears)
        if not report.errors:
            if progress:
                progress(Stage.CHECKING, 0, len(rows))
            take_plan(report, plan_rows(organization=organization, rows=rows, policy=report.policy))
            note_earlier_import(report, data)
            if progress:
                progress(Stage.CHECKING, len(rows), len(rows))
    return report


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
    actor: Actor | None = None,
    skip_invalid: bool = False,
    override_reason: str = "",
    now: datetime.datetime | None = None,
    progress: Progress | None = None,
    mapping: Mapping | None = None,
    save_as_profile: bool = False,
    batch: ImportBatch | None = None,
    blank_clears: bool = False,
    accept_guesses: bool = False,
) -> ImportReport:
    """Import the file in one transaction and record it as an ImportBatch.

    Raises ImportRefused (nothing written) for a file-level problem, the monthly limit, an organization
    still synced, or invalid rows without `skip_invalid`; ImportFailed when the database refuses the
    writes (rolled back, recorded as a failed batch). `user` None is the command line. `mapping` as for
    `preview_import`; `save_as_profile` stores how the file was read as the organization's profile, in
    the same transaction. `batch` is the running batch of a background commit, which the commit fills in
    instead of creating one. `blank_clears` as for preview_import, and recorded on the batch. A column
    read by a guess (a close spelling of its name) refuses the commit unless `accept_guesses`: the admin's
    mapping step, or the command line's --accept-guesses, is a person confirming it. `actor` is who the
    change log names (default: `user`, as the admin's import).
    """
    with collector_paused():
        report, rows = _read(organization, data, filename, progress, mapping, blank_clears)
        if report.errors:
            raise ImportRefused(report.errors[0].message, report)
        if not accept_guesses and report.reading.guessed:
            raise ImportRefused(str(GUESSES_UNCONFIRMED.format(columns=_guessed(report))), report)
        # Nothing shows a commit's table (the history reads the stored file): its 200,000 row lists
        # would stay in memory through the writes.
        report.table = None
        commit = ImportCommit(
            report,
            data,
            user,
            skip_invalid,
            override_reason,
            now or timezone.now(),
            progress,
            batch,
            save_as_profile,
            actor=actor,
        )
        report = commit.run(rows)
    store_import_file(report.batch, data)
    return report


def _guessed(report: ImportReport) -> str:
    """ "'Telephonne' (column G) → Contact's Telephone Number": the columns read by a guess."""
    return ", ".join(
        f"'{reading['header']}' ({reading['column']}) → {reading['field']}"
        for reading in report.reading.column_readings()
        if reading["read_by"] == "guess"
    )
