"""The import history: each committed (or failed) import, read-only, with its stored file and error report."""

import os

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from contacts.admin.changes import BATCH_NAME, history_url
from contacts.admin.display import LIST_CSS, compact_datetime, problem_count, user_fields, user_name
from contacts.admin.downloads import download, error_report_download
from contacts.admin.imports import can_see_history
from contacts.admin.undo import ImportUndoViews, can_undo
from contacts.fields import CONTACT_FIELDS
from contacts.importing import reports
from contacts.importing.progress import mark_stopped_workers
from contacts.importing.reading import FileRejected, Table, read_table
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.services.rows import problem_label
from contacts.services.undo import NOBODY
from contacts.services.values import yes_no

FILE_DELETED = _("file deleted after the retention period")
SEE_PROGRESS = _("see its progress")

Action = ContactChange.Action

# `Updated C-OLD: was last name "Martin", main contact: no` on the batch page.
REPLACED = _(": was %(values)s")
WAS_VALUE = _('%(field)s "%(value)s"')
WAS_BLANK = _("%(field)s (blank)")
WAS_YES_NO = _("%(field)s: %(value)s")
MORE_LINES = _("… and %(count)s more.")
MORE_PROBLEMS = _("… and %(count)s more (see the error report).")

UNDONE_SUMMARY = _(
    "Undone on %(when)s by %(who)s: %(deleted)s contact(s) deleted, %(restored)s restored, "
    "%(left)s left as they were (changed since by someone else)."
)


def stored_problem_label(problem: dict) -> str:
    """A problem stored on a batch ({"row", "column", "message"}), worded as ImportReport.label does."""
    return problem_label(problem.get("row"), problem.get("column"), problem.get("message", ""))


def batch_error_report(batch: ImportBatch, *, format: str, language: str | None = None) -> bytes:
    """The error report of a committed (or failed) import, from its stored file and recorded errors.

    In the uploaded file's shape, its header row and labels in `language` (default: the headers'). The
    messages are the ones recorded at the commit, in the language it ran in: rendering them again in
    another needs their ids and values on the batch, which it does not keep.
    """
    table: Table | None = None
    data = None
    if batch.file:
        with batch.file.open("rb") as stored:
            data = stored.read()
        try:
            table = read_table(data, filename=batch.file_name)
        except FileRejected:
            table = None
    problems = [(p.get("row"), p.get("column"), p.get("message", "")) for p in batch.errors]
    if batch.failure_reason:
        problems.insert(0, (None, None, batch.failure_reason))
    headers = table.headers if table else None
    shape = reports.report_shape(batch.format, data, headers)
    with translation.override(reports.report_language(language, headers)):
        return reports.error_report(table, problems, format=format, shape=shape)


def error_report_links(batch: ImportBatch) -> list[tuple[str, str]]:
    """(format, URL) of the batch's error report in each format; none when it has nothing to report."""
    if not batch.invalid and not batch.errors and not batch.failure_reason:
        return []
    return [
        (fmt.upper(), reverse("admin:contacts_importbatch_error_report", args=[batch.pk, fmt]))
        for fmt in reports.FORMATS
    ]


def _replaced(previous: dict | None) -> str:
    """`: was last name "Martin", main contact: no`, in the model's field order (jsonb keeps its own)."""
    names = [name for name in CONTACT_FIELDS if name in (previous or {})]
    if not names:
        return ""
    return REPLACED % {"values": ", ".join(_was(name, previous[name]) for name in names)}


def _was(name: str, value) -> str:
    """`last name "Martin"`: a replaced value as the batch page shows it."""
    label = Contact._meta.get_field(name).verbose_name
    if isinstance(value, bool):
        return WAS_YES_NO % {"field": label, "value": yes_no(value)}
    if value in ("", None):
        return WAS_BLANK % {"field": label}
    return WAS_VALUE % {"field": label, "value": value}


def _entry_line(entry: ContactChange) -> tuple:
    """`Updated <a>C-OLD</a>: was last name "Martin"`: the identifier code links to the contact's history
    (a deleted contact's too; rows migrated from before the log may have lost the contact's id)."""
    code = entry.external_id
    if entry.contact_id is not None:
        code = format_html('<a href="{}">{}</a>', history_url(entry.contact_id), code)
    replaced = _replaced(entry.before) if entry.action in (Action.UPDATED, Action.DEMOTED) else ""
    return entry.get_action_display(), code, replaced


def _bullet_list(lines: str, more: int, more_text=MORE_LINES):
    """The batch page's lists: the shown lines, then how many more there are."""
    if more > 0:
        return format_html('<ul class="import-problems">{}</ul><p>{}</p>', lines, more_text % {"count": more})
    return format_html('<ul class="import-problems">{}</ul>', lines)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """The import history: read-only; the stored files are streamed to permitted staff, never by URL."""

    # Compact columns: the history fits 1366 px beside the admin's sidebars (tests/browser/test_lists.py).
    list_display = (
        "when",
        "organization",
        "user",
        "stored_file",
        "status_and_override",
        "rows",
        "new",
        "updated",
        "invalid_rows",
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
        "blank_cells_clear",
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
        "user_name",
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
        css = {"all": ["contacts/admin-import.css", LIST_CSS]}

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        # The file's fingerprint tells support nothing; superusers check files with it.
        if not request.user.is_superuser:
            fields = [field for field in fields if field != "sha256"]
        return user_fields(request, self.admin_site, fields, {"user": "user_name"})

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, batch: ImportBatch):
        return compact_datetime(batch.created_at)

    @admin.display(description=_("invalid"), ordering="invalid")
    def invalid_rows(self, batch: ImportBatch):
        return problem_count(batch.invalid)

    @admin.display(description=_("status"), ordering="status")
    def status_and_override(self, batch: ImportBatch):
        """The status, and whether the import went past the monthly limit (the reason in the tooltip)."""
        if not batch.override_reason:
            return batch.get_status_display()
        return format_html(
            '{}<br><span class="import-override" title="{}">{}</span>',
            batch.get_status_display(),
            batch.override_reason,
            _("past the limit"),
        )

    @admin.display(description=_("user"))
    def user_name(self, batch: ImportBatch) -> str:
        return user_name(batch.user)

    @admin.display(description=_("file"), ordering="file_name")
    def stored_file(self, batch: ImportBatch):
        if batch.status in (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING):
            # Still running: the file's name leads to the progress page.
            url = reverse("admin:contacts_import_progress", args=[batch.pk])
            return format_html('<a href="{}">{}</a> ({})', url, batch.file_name, SEE_PROGRESS)
        if not batch.file:
            if batch.file_deleted_at:
                return format_html('{} <span class="help">({})</span>', batch.file_name, FILE_DELETED)
            return batch.file_name
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:contacts_importbatch_file", args=[batch.pk]),
            batch.file_name,
        )

    @admin.display(description=_("error report"))
    def error_report(self, batch: ImportBatch):
        links = error_report_links(batch)
        if not links:
            return self.empty_value_display
        return format_html_join(" ", '<a href="{}">{}</a>', ((url, label) for label, url in links))

    def changelist_view(self, request, extra_context=None):
        mark_stopped_workers()  # a running import whose worker stopped shows as failed, not running
        return super().changelist_view(request, {"title": _("Import history"), **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The top of the page (templates/admin/contacts/importbatch/change_form.html): the error report,
        # the file support sends back to the client, where the agent lands after confirming an import.
        # And "Undo this import…" for staff allowed to undo a committed import.
        mark_stopped_workers()
        batch = self.get_object(request, object_id)
        show_undo = batch is not None and batch.status == ImportBatch.Status.COMMITTED and can_undo(request)
        top = {
            # "Import #3" rather than the admin's "View import" ("Affichage de import" in French).
            **({"title": capfirst(BATCH_NAME % {"batch": batch.pk})} if batch is not None else {}),
            "error_report_links": error_report_links(batch) if batch is not None else [],
            "undo_url": reverse("admin:contacts_importbatch_undo", args=[batch.pk]) if show_undo else "",
        }
        return super().change_view(request, object_id, form_url, {**top, **(extra_context or {})})

    @admin.display(description=_("warnings"))
    def warning_list(self, batch: ImportBatch):
        return self._problem_list(batch.warnings)

    @admin.display(description=_("errors"))
    def error_list(self, batch: ImportBatch):
        return self._problem_list(batch.errors)

    @admin.display(description=_("contacts changed"))
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

    def _problem_list(self, problems: list[dict]):
        if not problems:
            return self.empty_value_display
        shown = format_html_join(
            "", "<li>{}</li>", ((stored_problem_label(p),) for p in problems[: self.SHOWN_PROBLEMS])
        )
        return _bullet_list(shown, len(problems) - self.SHOWN_PROBLEMS, MORE_PROBLEMS)

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
        if format not in reports.FORMATS:
            raise Http404
        content = batch_error_report(batch, format=format, language=request.GET.get("language"))
        return error_report_download(content, format=format, source=batch.file_name)
