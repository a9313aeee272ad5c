"""Import contacts from a CSV or Excel file: a dry run by default, `--commit` to write."""

import json
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy as _

from contacts.importing import reimport, reports
from contacts.importing.findings import ImportRefused, ImportReport
from contacts.importing.interpretation import column_read
from contacts.importing.mapping import Mapping, MappingInvalid, mapping_from_json
from contacts.importing.pipeline import commit_import, preview_import
from contacts.importing.progress import ROWS_DONE, Stage
from contacts.management.language import TranslatedCommand
from contacts.models import ContactChange
from contacts.services.changelog import Actor
from customers.models import Organization

UNKNOWN_ORGANIZATION = _('No organization has the slug "{slug}".')
UNKNOWN_USER = _('No user is named "{username}".')
FILE_NOT_FOUND = _("Cannot read {path}: no such file.")
FILE_UNREADABLE = _("Cannot read {path}: {reason}.")
INVALID_FILE = _("The file is invalid; nothing was written.")
MAPPING_UNREADABLE = _("Cannot read the mapping {path}: {reason}.")
MAPPING_NOT_JSON = _("The mapping {path} is not JSON: {reason}.")
MAPPING_INVALID = _("The mapping {path} cannot be used: {reason}")
MAPPING_HINT = _("Say how to read the file with --mapping FILE.json (see --help).")
GUESSES_HINT = _(
    "If the guessed columns mean what they say, run again with --accept-guesses; otherwise name them "
    "with --mapping FILE.json."
)
COLUMNS_READ = _("Columns not named by the template's headers:")
PROFILE_SAVED = _("Saved as the import profile of {organization}, applied to its next files.")
PROFILE_NOT_SAVED = _("Dry run: the import profile is saved only with --commit.")
REPORT_FORMAT = _("--error-report must name a .csv or .xlsx file (the report's format follows it): {path}.")
REPORT_WRITTEN = _("Error report written to {path}.")
NO_REPORT = _("No error: no error report written.")
REPORT_UNWRITABLE = _("Cannot write the error report to {path}: {reason}.")
# The summary of a run.
IMPORT_HEADING = _("Import ({what})")
DRY_RUN_HEADING = _("Dry run ({what})")
EARLIER_BATCH = _("{sentence} (import batch #{batch})")
TOTALS = _("{rows} rows: {new} new, {updated} updated, {unchanged} unchanged, {invalid} invalid")
WARNINGS_HEADING = _("Warnings ({count}):")
ERRORS_HEADING = _("Errors ({count}):")
MORE_PROBLEMS = _("… and {count} more (--json lists them all)")
COMMITTED = _("Committed as import batch #{batch}.")
NOTHING_WRITTEN = _("Dry run: nothing was written. Run again with {options} to write these changes.")
# A readable summary lists this many problems; --json lists them all.
SHOWN_PROBLEMS = 50
BAR_WIDTH = 30


class Command(TranslatedCommand, BaseCommand):
    help = (
        "Import contacts from a CSV or Excel file into an organization. Without --commit it is a dry run "
        "that writes nothing. Exit status: 0 valid (and written with --commit), 1 invalid or refused, "
        "2 usage error."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv, .xlsx or .xls file")
        parser.add_argument("--organization", required=True, metavar="SLUG", help="the organization's slug")
        parser.add_argument("--commit", action="store_true", help="write the contacts (default: dry run)")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="write the valid rows, list the others"
        )
        parser.add_argument(
            "--override-limit",
            metavar="REASON",
            default="",
            help="exceed the monthly import limit, for REASON",
        )
        parser.add_argument(
            "--blank-clears",
            action="store_true",
            help="a blank cell clears an existing contact's stored value (default: it keeps it)",
        )
        parser.add_argument(
            "--error-report",
            metavar="PATH",
            help="write the invalid rows with an Error column to PATH, CSV or XLSX from its extension, "
            "in the uploaded file's shape (as the admin's download)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        parser.add_argument(
            "--by",
            metavar="USERNAME",
            help="record this user as the importer in the history (their permissions then apply)",
        )
        parser.add_argument(
            "--mapping",
            metavar="FILE.json",
            help='how to read the file, instead of the organization\'s saved profile: {"sheet": "Contacts", '
            '"header_row": 3, "columns": {"Mail": "Contact\'s Email", "SIRET": null}, "values": '
            '{"Occupation": {"Direction financière": "ACCOUNTING"}}}, every key optional',
        )
        parser.add_argument(
            "--accept-guesses",
            action="store_true",
            help="with --commit: write even when a column is read by a close spelling of its name (a "
            "guess, listed in the output) rather than by its header, a usual name or a mapping",
        )
        parser.add_argument(
            "--save-profile",
            action="store_true",
            help="with --commit: keep how the file was read as the organization's profile for its next files",
        )

    def handle(self, *args, **options):
        as_json = options["json"]
        try:
            organization = Organization.objects.get(slug=options["organization"])
        except Organization.DoesNotExist:
            raise CommandError(
                UNKNOWN_ORGANIZATION.format(slug=options["organization"]), returncode=2
            ) from None
        user = None
        if options["by"]:
            user = get_user_model().objects.filter(username=options["by"]).first()
            if user is None:
                raise CommandError(UNKNOWN_USER.format(username=options["by"]), returncode=2)
        mapping = self._mapping(options["mapping"]) if options["mapping"] else None
        report_path = self._report_path(options["error_report"])
        path = Path(options["file"])
        data = self._file(path)

        progress = None if as_json or not sys.stderr.isatty() else self._progress()
        arguments = {"organization": organization, "data": data, "filename": path.name, "mapping": mapping}
        report, refusal = self._import(options, arguments, user, progress)

        if progress:
            self.stderr.write("")  # end the progress bar's line
        written = self._write_report(report, data, report_path) if report_path else None
        if as_json:
            result = report.to_json()
            if report_path:
                result["error_report"] = str(written) if written else None
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            self._summary(
                report,
                commit=options["commit"],
                refusal=refusal,
                skip=options["skip_invalid"],
                save_profile=options["save_profile"],
                guesses_accepted=options["accept_guesses"],
            )
            if report_path:
                self.stdout.write(str(REPORT_WRITTEN.format(path=written) if written else NO_REPORT))

        if report.reading is not None and report.reading.errors:
            # Refused for how it reads (a column missing, a profile that no longer fits): what to do.
            self.stderr.write(str(MAPPING_HINT))
        elif report.reading is not None and report.reading.guessed and not options["accept_guesses"]:
            self.stderr.write(str(GUESSES_HINT))
        if refusal:
            raise CommandError(refusal, returncode=1)
        if report.file_errors:
            raise CommandError(report.file_errors[0].message, returncode=1)
        if report.errors and not options["skip_invalid"]:
            raise CommandError(INVALID_FILE, returncode=1)

    @staticmethod
    def _import(options: dict, arguments: dict, user, progress) -> tuple[ImportReport, str]:
        """The dry run, or the commit and why it was refused ("" when it was not)."""
        if not options["commit"]:
            return preview_import(**arguments, progress=progress, blank_clears=options["blank_clears"]), ""
        try:
            report = commit_import(
                **arguments,
                user=user,
                actor=Actor.command_line(user, channel=ContactChange.Channel.IMPORT),
                skip_invalid=options["skip_invalid"],
                override_reason=options["override_limit"],
                progress=progress,
                save_as_profile=options["save_profile"],
                blank_clears=options["blank_clears"],
                accept_guesses=options["accept_guesses"],
            )
        except ImportRefused as refused:
            empty = ImportReport(
                organization=arguments["organization"], filename=arguments["filename"], format=""
            )
            return refused.report or empty, str(refused)
        return report, ""

    @staticmethod
    def _report_path(value: str | None) -> Path | None:
        """The --error-report path, refused before any work when its extension is not a report format."""
        if not value:
            return None
        path = Path(value)
        if path.suffix.lower().lstrip(".") not in reports.FORMATS:
            raise CommandError(REPORT_FORMAT.format(path=path), returncode=2)
        return path

    @staticmethod
    def _write_report(report: ImportReport, data: bytes, path: Path) -> Path | None:
        """Write the error report when there is an error (a file-level one included); None when none."""
        if not report.errors:
            return None
        content = reports.import_error_report(report, data, format=path.suffix.lower().lstrip("."))
        try:
            path.write_bytes(content)
        except OSError as error:
            raise CommandError(
                REPORT_UNWRITABLE.format(path=path, reason=error.strerror), returncode=2
            ) from None
        return path

    @staticmethod
    def _file(path: Path) -> bytes:
        try:
            with path.open("rb") as file:
                # One byte past the limit is enough to refuse it: a huge file is never read whole.
                return file.read(settings.CONTACT_IMPORT_MAX_BYTES + 1)
        except FileNotFoundError:
            raise CommandError(FILE_NOT_FOUND.format(path=path), returncode=2) from None
        except OSError as error:
            raise CommandError(
                FILE_UNREADABLE.format(path=path, reason=error.strerror), returncode=2
            ) from None

    @staticmethod
    def _mapping(name: str) -> Mapping:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise CommandError(MAPPING_UNREADABLE.format(path=path, reason=reason), returncode=2) from None
        try:
            return mapping_from_json(json.loads(text))
        except json.JSONDecodeError as error:
            raise CommandError(MAPPING_NOT_JSON.format(path=path, reason=error), returncode=2) from None
        except MappingInvalid as error:
            raise CommandError(MAPPING_INVALID.format(path=path, reason=error), returncode=2) from None

    def _progress(self):
        """A progress bar on the terminal: one line per stage, redrawn as its rows are done."""
        started = time.monotonic()
        shown = {"stage": ""}

        def show(stage: str, done: int, total: int) -> None:
            if shown["stage"] and stage != shown["stage"]:
                self.stderr.write("")  # keep the finished stage's line
            shown["stage"] = stage
            line = f"[{time.monotonic() - started:6.1f}s] {Stage(stage).label}"
            if total:
                filled = round(BAR_WIDTH * done / total)
                rows = ROWS_DONE % {"done": f"{done:,}", "total": f"{total:,}"}
                line += f" [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {rows}"
            self.stderr.write(f"\r{line}", ending="")
            self.stderr.flush()

        return show

    def _summary(
        self,
        report: ImportReport,
        *,
        commit: bool,
        refusal: str,
        skip: bool,
        save_profile: bool,
        guesses_accepted: bool,
    ) -> None:
        if report.file_errors:
            return  # the one-line reason is the whole story
        write = self.stdout.write
        totals = report.totals
        what = f"{report.organization.slug}, {report.filename}" + (
            f", {report.format}" if report.format else ""
        )
        write((IMPORT_HEADING if commit else DRY_RUN_HEADING).format(what=what))
        if report.reading is not None and report.reading.summary:
            write(f"  {report.reading.summary}")
        readings = report.reading.column_readings() if report.reading is not None else []
        if readings:
            write(f"  {COLUMNS_READ}")
            for reading in readings:
                write(f"    {column_read(reading)}")
        if report.earlier_import is not None:
            earlier = report.earlier_import
            write("  " + EARLIER_BATCH.format(sentence=reimport.already_imported(earlier), batch=earlier.pk))
        write("  " + TOTALS.format(**{name: f"{count:,}" for name, count in totals.items()}))
        for heading, problems in ((WARNINGS_HEADING, report.warnings), (ERRORS_HEADING, report.errors)):
            if problems:
                write(heading.format(count=f"{len(problems):,}"))
                for problem in problems[:SHOWN_PROBLEMS]:
                    write(f"  {report.label(problem)}")
                if len(problems) > SHOWN_PROBLEMS:
                    write("  " + MORE_PROBLEMS.format(count=f"{len(problems) - SHOWN_PROBLEMS:,}"))
        if report.committed:
            write(self.style.SUCCESS(COMMITTED.format(batch=report.batch.pk)))
            if save_profile:
                write(str(PROFILE_SAVED.format(organization=report.organization.name)))
        elif save_profile and not commit:
            write(str(PROFILE_NOT_SAVED))
        elif not commit and not refusal:
            again = "--commit --skip-invalid" if skip else "--commit"
            if report.reading is not None and report.reading.guessed and not guesses_accepted:
                again += " --accept-guesses"
            write(NOTHING_WRITTEN.format(options=again))
