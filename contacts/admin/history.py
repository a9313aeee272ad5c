"""The import history: each committed (or failed) import, read-only, with its stored file and error report."""

import os

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from contacts.admin.changes import history_url
from contacts.admin.imports import can_see_history, download, error_report_download, yes_no
from contacts.admin.undo import ImportUndoViews, can_undo
from contacts.fields import CONTACT_FIELDS
from contacts.importing import exports
from contacts.importing.reading import FileRejected, Table, read_table
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.services.undo import NOBODY

Action = ContactChange.Action

UNDONE_SUMMARY = _(
    "Undone on %(when)s by %(who)s: %(deleted)s contact(s) deleted, %(restored)s restored, "
    "%(left)s left as they were (changed since by someone else)."
)


def stored_problem_label(problem: dict) -> str:
    """A problem stored on a batch ({"row", "column", "message"}), worded as ImportReport.label does."""
    row, column, message = problem.get("row"), problem.get("column"), problem.get("message", "")
    if row is None:
        return f'"{column}": {message}' if column else message
    if column:
        return f'Row {row}, "{column}": {message}'
    return f"Row {row}: {message}"


def batch_error_report(batch: ImportBatch, *, format: str) -> bytes:
    """The error report of a committed (or failed) import, from its stored file and recorded errors."""
    table: Table | None = None
    if batch.file:
        with batch.file.open("rb") as stored:
            data = stored.read()
        try:
            table = read_table(data, filename=batch.file_name)
        except FileRejected:
            table = None
    problems = [(problem.get("row"), stored_problem_label(problem)) for problem in batch.errors]
    if batch.failure_reason:
        problems.insert(0, (None, batch.failure_reason))
    return exports.error_report(table, problems, format=format)


def _replaced(previous: dict | None) -> str:
    """`: was last name "Martin", main contact: no`, in the model's field order (jsonb keeps its own)."""
    names = [name for name in CONTACT_FIELDS if name in (previous or {})]
    if not names:
        return ""
    return ": was " + ", ".join(_was(name, previous[name]) for name in names)


def _was(name: str, value) -> str:
    """`last name "Martin"`: a replaced value as the batch page shows it."""
    label = Contact._meta.get_field(name).verbose_name
    if isinstance(value, bool):
        return f"{label}: {yes_no(value)}"
    return f'{label} "{value}"' if value not in ("", None) else f"{label} (blank)"


def _entry_line(entry: ContactChange) -> tuple:
    """`Updated <a>C-OLD</a>: was last name "Martin"`: the identifier code links to the contact's history
    (a deleted contact's too; rows migrated from before the log may have lost the contact's id)."""
    code = entry.external_id
    if entry.contact_id is not None:
        code = format_html('<a href="{}">{}</a>', history_url(entry.contact_id), code)
    replaced = _replaced(entry.before) if entry.action in (Action.UPDATED, Action.DEMOTED) else ""
    return entry.get_action_display(), code, replaced


def _bullet_list(lines: str, more: int, where_the_rest_is: str = ""):
    """The batch page's lists: the shown lines, then how many more there are."""
    if more > 0:
        return format_html(
            '<ul class="import-problems">{}</ul><p>… and {} more{}.</p>', lines, more, where_the_rest_is
        )
    return format_html('<ul class="import-problems">{}</ul>', lines)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """The import history: read-only; the stored files are streamed to permitted staff, never by URL."""

    list_display = (
        "when",
        "organization",
        "user",
        "stored_file",
        "status",
        "rows",
        "new",
        "updated",
        "unchanged",
        "invalid",
        "override",
        "error_report",
    )
    list_display_links = ("when",)
    empty_value_display = "—"
    list_filter = ("organization", "status")
    search_fields = ("file_name", "sha256", "user__username", "organization__name")
    list_select_related = ("organization", "user")
    date_hierarchy = "created_at"
    list_per_page = 50
    fields = (
        "organization",
        "user",
        "stored_file",
        "sha256",
        "format",
        "status",
        "created_at",
        "finished_at",
        ("rows", "new", "updated", "unchanged", "invalid"),
        "skip_invalid",
        "override_reason",
        "failure_reason",
        "error_report",
        "warning_list",
        "error_list",
        "change_list",
        "undo_list",
    )
    readonly_fields = (
        *fields[:8],
        *fields[8],
        *fields[9:],
    )
    # The detail page shows this many problems; the error report holds them all.
    SHOWN_PROBLEMS = 100

    def has_view_permission(self, request, obj=None):
        return can_see_history(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/file/", wrap(self.file_view), name="contacts_importbatch_file"),
            path(
                "<int:pk>/error-report.<str:format>",
                wrap(self.error_report_view),
                name="contacts_importbatch_error_report",
            ),
            *ImportUndoViews(self).urls(),
            *super().get_urls(),
        ]

    class Media:
        css = {"all": ["contacts/admin-import.css"]}

    # Compact columns: the history fits a laptop's screen beside the admin's sidebars.
    @admin.display(description="when", ordering="created_at")
    def when(self, batch: ImportBatch) -> str:
        return f"{timezone.localtime(batch.created_at):%Y-%m-%d %H:%M}"

    @admin.display(description="override")
    def override(self, batch: ImportBatch):
        reason = batch.override_reason
        if not reason:
            return self.empty_value_display
        return format_html('<span title="{}">{}</span>', reason, Truncator(reason).chars(40))

    @admin.display(description="file", ordering="file_name")
    def stored_file(self, batch: ImportBatch):
        if not batch.file:
            return batch.file_name
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:contacts_importbatch_file", args=[batch.pk]),
            batch.file_name,
        )

    @admin.display(description="error report")
    def error_report(self, batch: ImportBatch):
        if not batch.invalid and not batch.errors and not batch.failure_reason:
            return self.empty_value_display
        return format_html_join(
            " ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:contacts_importbatch_error_report", args=[batch.pk, fmt]), fmt.upper())
                for fmt in exports.FORMATS
            ),
        )

    @admin.display(description="warnings")
    def warning_list(self, batch: ImportBatch):
        return self._problem_list(batch.warnings)

    @admin.display(description="errors")
    def error_list(self, batch: ImportBatch):
        return self._problem_list(batch.errors)

    @admin.display(description="contacts changed")
    def change_list(self, batch: ImportBatch):
        """What the import did to each contact and the values it replaced (what an undo restores), from
        the change log; each identifier code links to the contact's history."""
        return self._entry_list(batch.changes.filter(channel=ContactChange.Channel.IMPORT))

    @admin.display(description=_("undo"))
    def undo_list(self, batch: ImportBatch):
        """Who undid the import, when, and what the undo did to each contact."""
        if batch.undone_at is None:
            return self.empty_value_display
        summary = UNDONE_SUMMARY % {
            "when": f"{timezone.localtime(batch.undone_at):%Y-%m-%d %H:%M}",
            "who": batch.undone_by.get_username() if batch.undone_by else str(NOBODY),
            "deleted": batch.undone_deleted,
            "restored": batch.undone_restored,
            "left": batch.undone_left,
        }
        entries = self._entry_list(batch.changes.filter(channel=ContactChange.Channel.UNDO))
        return format_html("<p>{}</p>{}", summary, entries)

    def _entry_list(self, entries):
        shown = list(entries.order_by("pk")[: self.SHOWN_PROBLEMS + 1])
        if not shown:
            return self.empty_value_display
        lines = format_html_join(
            "", "<li>{} {}{}</li>", (_entry_line(e) for e in shown[: self.SHOWN_PROBLEMS])
        )
        more = entries.count() - self.SHOWN_PROBLEMS if len(shown) > self.SHOWN_PROBLEMS else 0
        return _bullet_list(lines, more)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The "Undo this import…" button (templates/admin/contacts/importbatch/change_form.html).
        batch = self.get_object(request, object_id)
        show_undo = batch is not None and batch.status == ImportBatch.Status.COMMITTED and can_undo(request)
        extra = {"undo_url": reverse("admin:contacts_importbatch_undo", args=[batch.pk]) if show_undo else ""}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _problem_list(self, problems: list[dict]):
        if not problems:
            return self.empty_value_display
        shown = format_html_join(
            "", "<li>{}</li>", ((stored_problem_label(p),) for p in problems[: self.SHOWN_PROBLEMS])
        )
        return _bullet_list(shown, len(problems) - self.SHOWN_PROBLEMS, " (see the error report)")

    def _batch(self, request, pk: int) -> ImportBatch:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            return ImportBatch.objects.get(pk=pk)
        except ImportBatch.DoesNotExist:
            raise Http404 from None

    def file_view(self, request, pk: int):
        batch = self._batch(request, pk)
        if not batch.file:
            raise Http404
        with batch.file.open("rb") as stored:
            content = stored.read()
        # Served as an opaque download whatever its name: never rendered by the browser.
        filename = batch.file_name or os.path.basename(batch.file.name)
        return download(content, content_type="application/octet-stream", filename=filename)

    def error_report_view(self, request, pk: int, format: str):
        batch = self._batch(request, pk)
        if format not in exports.FORMATS:
            raise Http404
        content = batch_error_report(batch, format=format)
        return error_report_download(content, format=format, source=batch.file_name)
