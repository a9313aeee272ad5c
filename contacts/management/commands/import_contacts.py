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
from contacts.importing.pipeline import ImportRefused, ImportReport, commit_import, preview_import
from customers.models import Organization

UNKNOWN_ORGANIZATION = 'No organization has the slug "{slug}".'
UNKNOWN_USER = 'No user is named "{username}".'
FILE_NOT_FOUND = "Cannot read {path}: no such file."
FILE_UNREADABLE = "Cannot read {path}: {reason}."
INVALID_FILE = "The file is invalid; nothing was written."
REPORT_FORMAT = _("--error-report must name a .csv or .xlsx file (the report's format follows it): {path}.")
REPORT_WRITTEN = _("Error report written to {path}.")
NO_REPORT = _("No error: no error report written.")
REPORT_UNWRITABLE = _("Cannot write the error report to {path}: {reason}.")
# A readable summary lists this many problems; --json lists them all.
SHOWN_PROBLEMS = 50


class Command(BaseCommand):
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
        report_path = self._report_path(options["error_report"])
        path = Path(options["file"])
        try:
            with path.open("rb") as file:
                # One byte past the limit is enough to refuse it: a huge file is never read whole.
                data = file.read(settings.CONTACT_IMPORT_MAX_BYTES + 1)
        except FileNotFoundError:
            raise CommandError(FILE_NOT_FOUND.format(path=path), returncode=2) from None
        except OSError as error:
            raise CommandError(
                FILE_UNREADABLE.format(path=path, reason=error.strerror), returncode=2
            ) from None

        progress = None if as_json or not sys.stderr.isatty() else self._progress()
        report, refusal = self._run(organization, user, data, path.name, options, progress)

        written = self._write_report(report, data, report_path) if report_path else None
        if as_json:
            result = report.to_json()
            if report_path:
                result["error_report"] = str(written) if written else None
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            self._summary(report, commit=options["commit"], refusal=refusal, skip=options["skip_invalid"])
            if report_path:
                self.stdout.write(str(REPORT_WRITTEN.format(path=written) if written else NO_REPORT))

        if refusal:
            raise CommandError(refusal, returncode=1)
        if report.file_errors:
            raise CommandError(report.file_errors[0].message, returncode=1)
        if report.errors and not options["skip_invalid"]:
            raise CommandError(INVALID_FILE, returncode=1)

    @staticmethod
    def _run(organization, user, data: bytes, filename: str, options, progress) -> tuple[ImportReport, str]:
        """The dry run, or the commit with `--commit`: the report, and why the commit was refused ("")."""
        if not options["commit"]:
            report = preview_import(
                organization=organization,
                data=data,
                filename=filename,
                progress=progress,
                blank_clears=options["blank_clears"],
            )
            return report, ""
        try:
            report = commit_import(
                organization=organization,
                data=data,
                filename=filename,
                user=user,
                skip_invalid=options["skip_invalid"],
                override_reason=options["override_limit"],
                progress=progress,
                blank_clears=options["blank_clears"],
            )
        except ImportRefused as refused:
            report = refused.report or ImportReport(organization=organization, filename=filename, format="")
            return report, str(refused)
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

    def _progress(self):
        started = time.monotonic()

        def show(phase: str) -> None:
            self.stderr.write(f"[{time.monotonic() - started:6.1f}s] {phase}")

        return show

    def _summary(self, report: ImportReport, *, commit: bool, refusal: str, skip: bool) -> None:
        if report.file_errors:
            return  # the one-line reason is the whole story
        write = self.stdout.write
        totals = report.totals
        what = f"{report.organization.slug}, {report.filename}" + (
            f", {report.format}" if report.format else ""
        )
        write(f"{'Import' if commit else 'Dry run'} ({what})")
        if report.earlier_import is not None:
            earlier = report.earlier_import
            write(f"  {reimport.already_imported(earlier)} (import batch #{earlier.pk})")
        write(
            f"  {totals['rows']:,} rows: {totals['new']:,} new, {totals['updated']:,} updated, "
            f"{totals['unchanged']:,} unchanged, {totals['invalid']:,} invalid"
        )
        for title, problems in (("Warnings", report.warnings), ("Errors", report.errors)):
            if problems:
                write(f"{title} ({len(problems):,}):")
                for problem in problems[:SHOWN_PROBLEMS]:
                    write(f"  {report.label(problem)}")
                if len(problems) > SHOWN_PROBLEMS:
                    write(f"  … and {len(problems) - SHOWN_PROBLEMS:,} more (--json lists them all)")
        if report.committed:
            write(self.style.SUCCESS(f"Committed as import batch #{report.batch.pk}."))
        elif not commit and not refusal:
            again = "--commit --skip-invalid" if skip else "--commit"
            write(f"Dry run: nothing was written. Run again with {again} to write these changes.")
