"""The spreadsheet import in the admin: upload, dry-run preview, confirm, downloads and the history.

Flow: the upload is kept by contacts.importing.uploads and the browser only carries its key. Preview
and confirm both run the pipeline on the stored bytes, so what is committed is exactly what was previewed.
"""

from __future__ import annotations

import os

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header, urlencode
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_POST

from contacts.importing import exports
from contacts.importing.columns import ENGLISH_HEADERS
from contacts.importing.limits import OVERRIDE_PERMISSION, committed_imports_this_month
from contacts.importing.pipeline import (
    NOTHING_TO_WRITE,
    ImportRefused,
    ImportReport,
    commit_import,
    preview_import,
)
from contacts.importing.reading import EMPTY, TOO_BIG, FileRejected, Table, read_table
from contacts.importing.rules import CONTACT_FIELDS
from contacts.importing.uploads import PREVIEW_NAME, SHA256, forget_upload, keep_upload, load_upload
from contacts.models import Contact, ImportBatch
from customers.models import Customer, Organization

IMPORT_PERMISSION = "contacts.import_contacts"
HISTORY_PERMISSIONS = ("contacts.view_importbatch", IMPORT_PERMISSION)

PAGE_SIZE = 50  # rows of each kind shown per page of the preview
ACCEPTED_EXTENSIONS = ".csv,.xlsx,.xls"

PREVIEW_EXPIRED = (
    "This preview is no longer available (it expired, or the file was uploaded from another session); "
    "upload the file again."
)
NO_ORGANIZATION = (
    "No organization has disconnected its contacts from the invoicing sync yet; contacts can be "
    "imported only for those that have."
)
IMPORTED = "Imported {file}: {new} new, {updated} updated, {unchanged} unchanged{skipped}."
SKIPPED = ", {invalid} invalid row(s) skipped"
LIMIT_REACHED_NOTICE = (
    "{organization} has already committed {count} import(s) this month (the limit is {limit}); "
    "confirming needs an override with a reason."
)


def can_import(request) -> bool:
    return request.user.is_active and request.user.is_staff and request.user.has_perm(IMPORT_PERMISSION)


def can_see_history(request) -> bool:
    user = request.user
    return user.is_active and user.is_staff and any(user.has_perm(perm) for perm in HISTORY_PERMISSIONS)


def managed_organizations():
    return Organization.objects.filter(contacts_source=Organization.ContactsSource.MANAGED)


# --- Forms -------------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=managed_organizations(),
        help_text="Only organizations whose contacts are disconnected from the invoicing sync are listed.",
    )
    file = forms.FileField(
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_EXTENSIONS}),
        error_messages={"empty": EMPTY},
        help_text="CSV (UTF-8 or Windows-1252; comma, semicolon or tab), Excel .xlsx or .xls.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.CONTACT_IMPORT_MAX_BYTES
        # Refuse before reading a byte of it into memory.
        if upload.size > limit:
            raise forms.ValidationError(TOO_BIG.format(limit=_megabytes(limit)))
        return upload


class PreviewKeyForm(forms.Form):
    """What the browser carries from the upload to the confirm: nothing it could use to reach a path."""

    # Any organization: the upload was bound to a disconnected one, and the pipeline refuses synced ones
    # with a message that says so.
    organization = forms.ModelChoiceField(queryset=Organization.objects.all(), widget=forms.HiddenInput)
    file = forms.RegexField(regex=PREVIEW_NAME, max_length=32, widget=forms.HiddenInput)
    sha256 = forms.RegexField(regex=SHA256, max_length=64, widget=forms.HiddenInput)


class ConfirmForm(PreviewKeyForm):
    skip_invalid = forms.BooleanField(
        required=False,
        label="Skip invalid rows",
        help_text="Import the valid rows and leave the invalid ones out (the error report lists them).",
    )
    override_reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Override the monthly limit — reason",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Only needed when the organization has used its imports for this month; it is recorded.",
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def _key_query(key: dict) -> dict:
    return {"organization": key["organization"].pk, "file": key["file"], "sha256": key["sha256"]}


# --- Views -------------------------------------------------------------------------------------------


class ContactImportViews:
    """The import views of the Contact admin; mounted by ContactAdmin.get_urls."""

    def __init__(self, model_admin: admin.ModelAdmin):
        self.model_admin = model_admin
        self.admin_site = model_admin.admin_site

    def urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.upload), name="contacts_contact_import"),
            path("import/preview/", wrap(self.preview), name="contacts_contact_import_preview"),
            path("import/confirm/", wrap(self.confirm), name="contacts_contact_import_confirm"),
            path(
                "import/error-report.<str:format>",
                wrap(self.preview_error_report),
                name="contacts_contact_import_error_report",
            ),
            path(
                "import/template.<str:format>", wrap(self.template), name="contacts_contact_import_template"
            ),
        ]

    def _check(self, request) -> None:
        if not can_import(request):
            raise PermissionDenied

    def _context(self, request, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": Contact._meta,
            "can_see_history": can_see_history(request),
            **extra,
        }

    def upload(self, request):
        self._check(request)
        if request.method == "POST":
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                key = keep_upload(
                    request.session,
                    data=upload.read(),
                    filename=upload.name,
                    organization=form.cleaned_data["organization"],
                )
                url = reverse("admin:contacts_contact_import_preview")
                return HttpResponseRedirect(f"{url}?{urlencode(key)}")
        else:
            form = UploadForm(initial={"organization": request.GET.get("organization")})
        context = self._context(
            request,
            title="Import contacts",
            form=form,
            no_organization=NO_ORGANIZATION if not managed_organizations().exists() else "",
        )
        return TemplateResponse(request, "admin/contacts/contact/import_form.html", context)

    def _key(self, request, data) -> tuple[dict, bytes, str] | None:
        form = PreviewKeyForm(data)
        if not form.is_valid():
            return None
        key = form.cleaned_data
        loaded = load_upload(request.session, key)
        if loaded is None:
            return None
        return key, *loaded

    def _expired(self, request):
        messages.error(request, PREVIEW_EXPIRED)
        return HttpResponseRedirect(reverse("admin:contacts_contact_import"))

    @staticmethod
    def _preview_url(key: dict) -> str:
        return f"{reverse('admin:contacts_contact_import_preview')}?{urlencode(_key_query(key))}"

    @method_decorator(require_GET)
    def preview(self, request):
        self._check(request)
        found = self._key(request, request.GET)
        if found is None:
            return self._expired(request)
        key, data, filename = found
        organization = key["organization"]
        report = preview_import(organization=organization, data=data, filename=filename)
        context = self._context(
            request,
            title=f"Preview of {filename}",
            filename=filename,
            organization=organization,
            report=report,
            key_query=urlencode(_key_query(key)),
            **preview_sections(request, report),
            **self._confirm_context(request, key, report),
        )
        return TemplateResponse(request, "admin/contacts/contact/import_preview.html", context)

    def _confirm_context(self, request, key: dict, report: ImportReport) -> dict:
        totals = report.totals
        can_commit = report.plan is not None and not report.file_errors
        limit = settings.CONTACT_IMPORTS_PER_MONTH
        used = committed_imports_this_month(key["organization"])
        limit_notice = ""
        if used >= limit:
            limit_notice = LIMIT_REACHED_NOTICE.format(
                organization=key["organization"].name, count=used, limit=limit
            )
        form = ConfirmForm(initial=_key_query(key))
        can_override = request.user.has_perm(OVERRIDE_PERMISSION)
        if not can_override:
            del form.fields["override_reason"]
        # Past the limit, only staff allowed to override it get a Confirm button (the server refuses others).
        can_commit = can_commit and (not limit_notice or can_override)
        return {
            "can_commit": can_commit and totals["new"] + totals["updated"] > 0,
            "nothing_to_write": NOTHING_TO_WRITE
            if can_commit and totals["new"] + totals["updated"] == 0
            else "",
            "has_invalid": totals["invalid"] > 0,
            "confirm_form": form,
            "limit_notice": limit_notice,
            "can_override": can_override,
        }

    @method_decorator(require_POST)
    def confirm(self, request):
        self._check(request)
        form = ConfirmForm(request.POST)
        found = self._key(request, request.POST)
        if found is None:
            return self._expired(request)
        key, data, filename = found
        if not form.is_valid():
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
            return HttpResponseRedirect(self._preview_url(key))
        organization = key["organization"]
        reason = form.cleaned_data["override_reason"] if request.user.has_perm(OVERRIDE_PERMISSION) else ""
        try:
            report = commit_import(
                organization=organization,
                data=data,
                filename=filename,
                user=request.user,
                skip_invalid=form.cleaned_data["skip_invalid"],
                override_reason=reason,
            )
        except ImportRefused as refusal:
            # Nothing was written; back to the preview, which shows why.
            messages.error(request, str(refusal))
            return HttpResponseRedirect(self._preview_url(key))
        forget_upload(request.session, key["file"])
        totals = report.totals
        skipped = SKIPPED.format(invalid=totals["invalid"]) if totals["invalid"] else ""
        summary = IMPORTED.format(file=filename, skipped=skipped, **totals)
        batch_url = reverse("admin:contacts_importbatch_change", args=[report.batch.pk])
        messages.success(
            request, format_html('{} <a href="{}">See the import in the history</a>.', summary, batch_url)
        )
        changelist = reverse("admin:contacts_contact_changelist")
        return HttpResponseRedirect(f"{changelist}?{urlencode({'organization__id__exact': organization.pk})}")

    @method_decorator(require_GET)
    def preview_error_report(self, request, format: str):
        self._check(request)
        if format not in exports.FORMATS:
            raise Http404
        found = self._key(request, request.GET)
        if found is None:
            return self._expired(request)
        key, data, filename = found
        report = preview_import(organization=key["organization"], data=data, filename=filename)
        problems = [(problem.row, report.label(problem)) for problem in report.errors]
        content = exports.error_report(report.table, problems, format=format)
        return download(content, format=format, filename=f"{_stem(filename)}-errors.{format}")

    @method_decorator(require_GET)
    def template(self, request, format: str):
        self._check(request)
        if format == "csv":
            content = exports.template_csv()
        elif format == "xlsx":
            content = exports.template_xlsx()
        else:
            raise Http404
        return download(content, format=format, filename=f"contacts-import-template.{format}")


def download(content: bytes, *, format: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exports.FORMATS[format])
    response["Content-Disposition"] = _attachment(filename)
    return response


def _attachment(filename: str) -> str:
    return content_disposition_header(as_attachment=True, filename=filename)


def _stem(filename: str) -> str:
    return os.path.splitext(os.path.basename(filename))[0] or "import"


# --- The preview's sections, paginated ------------------------------------------------------------


def preview_sections(request, report: ImportReport) -> dict:
    """The errors, warnings, new and updated rows of a preview: one page of each, PAGE_SIZE rows at most."""
    outcomes = report.plan.outcomes if report.plan else []
    new = [o for o in outcomes if o.status == "new"]
    updated = [o for o in outcomes if o.status == "updated"]
    row_errors = [p for p in report.errors if p.row is not None]
    sections = {
        "errors": _page(request, "errors", row_errors),
        "warnings": _page(request, "warnings", report.warnings),
        "new": _page(request, "new", new),
        "updated": _page(request, "updated", updated),
    }
    shown = [*sections["new"]["page"].object_list, *sections["updated"]["page"].object_list]
    customers = Customer.objects.in_bulk({o.customer_id for o in shown if o.customer_id})
    sections["errors"]["rows"] = [
        (p.row, report.column(p) or "", p.message) for p in sections["errors"]["page"].object_list
    ]
    sections["warnings"]["rows"] = [report.label(p) for p in sections["warnings"]["page"].object_list]
    labels = {
        name: report.column_labels.get(name) or ENGLISH_HEADERS.get(name, name) for name in ENGLISH_HEADERS
    }
    sections["new"]["rows"] = [
        {"row": o.row, "customer": customers.get(o.customer_id), **_displayed(o.values)}
        for o in sections["new"]["page"].object_list
    ]
    sections["updated"]["rows"] = [
        {
            "row": o.row,
            "customer": customers.get(o.customer_id),
            "external_id": o.values["external_id"],
            "changes": [
                (labels.get(name, name), _shown(name, old), _shown(name, o.values[name]))
                for name, old in o.previous.items()
            ],
        }
        for o in sections["updated"]["page"].object_list
    ]
    return {
        "sections": sections,
        "file_errors": [report.label(p) for p in report.file_errors],
        "labels": labels,
    }


def _page(request, kind: str, items: list) -> dict:
    parameter = f"{kind}_page"
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get(parameter))

    def url(number: int) -> str:
        query = request.GET.copy()
        query[parameter] = number
        return f"?{query.urlencode()}#{kind}"

    return {
        "page": page,
        "count": len(items),
        "previous_url": url(page.previous_page_number()) if page.has_previous() else "",
        "next_url": url(page.next_page_number()) if page.has_next() else "",
    }


def _shown(name: str, value) -> str:
    if name == "is_main":
        return "yes" if value else "no"
    return "" if value is None else str(value)


def _displayed(values: dict) -> dict:
    return {name: _shown(name, value) for name, value in values.items()}


# --- Import history -------------------------------------------------------------------------------


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
    if not previous:
        return ""
    names = sorted(previous, key=lambda name: CONTACT_FIELDS.index(name) if name in CONTACT_FIELDS else 99)
    return ": was " + ", ".join(_was(name, previous[name]) for name in names)


def _was(name: str, value) -> str:
    """`last name "Martin"`: a replaced value as the batch page shows it."""
    label = Contact._meta.get_field(name).verbose_name
    if isinstance(value, bool):
        return f"{label}: {'yes' if value else 'no'}"
    return f'{label} "{value}"' if value not in ("", None) else f"{label} (blank)"


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
            return "—"
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
            return "—"
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
        """What the import did to each contact and the values it replaced (what an undo would restore)."""
        changes = list(batch.changes.order_by("pk")[: self.SHOWN_PROBLEMS + 1])
        if not changes:
            return "—"
        lines = format_html_join(
            "",
            "<li>{} {}{}</li>",
            (
                (change.get_action_display(), change.external_id, _replaced(change.previous))
                for change in changes[: self.SHOWN_PROBLEMS]
            ),
        )
        more = batch.changes.count() - self.SHOWN_PROBLEMS if len(changes) > self.SHOWN_PROBLEMS else 0
        return _bullet_list(lines, more)

    def _problem_list(self, problems: list[dict]):
        if not problems:
            return "—"
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
        response = HttpResponse(content, content_type="application/octet-stream")
        response["Content-Disposition"] = _attachment(batch.file_name or os.path.basename(batch.file.name))
        return response

    def error_report_view(self, request, pk: int, format: str):
        batch = self._batch(request, pk)
        if format not in exports.FORMATS:
            raise Http404
        content = batch_error_report(batch, format=format)
        return download(content, format=format, filename=f"{_stem(batch.file_name)}-errors.{format}")
