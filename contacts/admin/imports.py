"""The spreadsheet import in the admin: upload, dry-run preview, confirm and downloads.

Flow: the upload is kept by contacts.importing.uploads and the browser only carries its key. Preview
and confirm both run the pipeline on the stored bytes, so what is committed is exactly what was previewed.
"""

from __future__ import annotations

import os

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from contacts.admin.forms import ConfirmForm, PreviewKeyForm, UploadForm, managed_organizations
from contacts.admin.import_preview import preview_sections
from contacts.importing import reimport, reports
from contacts.importing.limits import OVERRIDE_PERMISSION, month_use
from contacts.importing.pipeline import (
    NOTHING_TO_WRITE,
    ImportRefused,
    ImportReport,
    commit_import,
    preview_import,
)
from contacts.importing.uploads import forget_upload, keep_upload, load_upload
from contacts.models import Contact

IMPORT_PERMISSION = "contacts.import_contacts"
HISTORY_PERMISSIONS = ("contacts.view_importbatch", IMPORT_PERMISSION)

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
LIMIT_REACHED_NOTICE = _(
    "{organization} has already committed {count} import(s) this month (the limit is {limit}); "
    "confirming needs an override with a reason."
)


def can_import(request) -> bool:
    return _active_staff_with(request.user, IMPORT_PERMISSION)


def can_see_history(request) -> bool:
    return _active_staff_with(request.user, *HISTORY_PERMISSIONS)


def _active_staff_with(user, *permissions: str) -> bool:
    """Active staff holding any of `permissions`."""
    return user.is_active and user.is_staff and any(user.has_perm(perm) for perm in permissions)


def _key_query(key: dict) -> dict:
    query = {"organization": key["organization"].pk, "file": key["file"], "sha256": key["sha256"]}
    if key.get("blank_clears"):
        query["blank_clears"] = "1"
    return query


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
                if form.cleaned_data["blank_clears"]:
                    key["blank_clears"] = "1"
                url = reverse("admin:contacts_contact_import_preview")
                return HttpResponseRedirect(f"{url}?{urlencode(key)}")
        else:
            form = UploadForm(initial={"organization": request.GET.get("organization")})
        organizations = list(managed_organizations())
        context = self._context(
            request,
            title="Import contacts",
            form=form,
            no_organization=NO_ORGANIZATION if not organizations else "",
            **_month_uses(request, organizations),
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
        report = preview_import(
            organization=organization, data=data, filename=filename, blank_clears=key["blank_clears"]
        )
        context = self._context(
            request,
            title=f"Preview of {filename}",
            filename=filename,
            organization=organization,
            report=report,
            key_query=urlencode(_key_query(key)),
            report_links=_report_links(report),
            **_earlier_import(report),
            **preview_sections(request, report),
            **self._confirm_context(request, key, report),
        )
        return TemplateResponse(request, "admin/contacts/contact/import_preview.html", context)

    def _confirm_context(self, request, key: dict, report: ImportReport) -> dict:
        totals = report.totals
        can_commit = report.plan is not None and not report.file_errors
        organization = key["organization"]
        use = month_use([organization])[organization.pk]
        limit_notice = limit_advice = ""
        can_override = request.user.has_perm(OVERRIDE_PERMISSION)
        if use.used_up:
            limit_notice = LIMIT_REACHED_NOTICE.format(
                organization=organization.name, count=use.used, limit=use.limit
            )
            limit_advice = "" if can_override else use.advice(organization)
        form = ConfirmForm(initial=_key_query(key))
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
            "month_use": use.sentence(),
            "limit_notice": limit_notice,
            "limit_advice": limit_advice,
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
                blank_clears=form.cleaned_data["blank_clears"],
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
        if format not in reports.FORMATS:
            raise Http404
        found = self._key(request, request.GET)
        if found is None:
            return self._expired(request)
        key, data, filename = found

        def report_in(language: str | None) -> tuple[ImportReport, bytes]:
            with translation.override(language):  # None: the active language
                report = preview_import(
                    organization=key["organization"],
                    data=data,
                    filename=filename,
                    blank_clears=key["blank_clears"],
                )
                return report, reports.import_error_report(report, data, format=format)

        # The messages are rendered as the checks find them: in the language asked for, or else in the
        # language of the file's headers (known once it is read: read again only when it differs).
        asked = request.GET.get("language")
        report, content = report_in(asked if asked in reports.REPORT_LANGUAGES else None)
        language = reports.report_language(asked, report.table.headers if report.table else None)
        if language != (translation.get_language() or "en").split("-")[0] and asked != language:
            report, content = report_in(language)
        return error_report_download(content, format=format, source=filename)

    @method_decorator(require_GET)
    def template(self, request, format: str):
        self._check(request)
        if format == "csv":
            content = reports.template_csv()
        elif format == "xlsx":
            content = reports.template_xlsx()
        else:
            raise Http404
        return download(
            content, content_type=reports.FORMATS[format], filename=f"contacts-import-template.{format}"
        )


def download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    """`content` as a file to save, under `filename`."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


def error_report_download(content: bytes, *, format: str, source: str) -> HttpResponse:
    """The error report of the file named `source`: "clients.csv" gives "clients-errors.csv" (or .xlsx)."""
    stem = os.path.splitext(os.path.basename(source))[0] or "import"
    return download(content, content_type=reports.FORMATS[format], filename=f"{stem}-errors.{format}")


# --- What the preview and the upload page show beside the rows ----------------------------------------


def _month_uses(request, organizations: list) -> dict:
    """The month's imports of each organization that made one, for the upload page."""
    uses = month_use(organizations)
    can_override = request.user.has_perm(OVERRIDE_PERMISSION)
    return {
        "month_uses": [
            {
                "organization": organization,
                "sentence": uses[organization.pk].sentence(),
                "advice": ""
                if can_override or not uses[organization.pk].used_up
                else (uses[organization.pk].advice(organization)),
            }
            for organization in organizations
            if uses[organization.pk].used
        ],
        "month_unused": any(not use.used for use in uses.values()),
    }


def _earlier_import(report: ImportReport) -> dict:
    """The committed import of the same file, if any: the warning at the top of the preview."""
    batch = report.earlier_import
    if batch is None:
        return {"earlier_import": None}
    return {
        "earlier_import": reimport.already_imported(batch),
        "earlier_import_url": reverse("admin:contacts_importbatch_change", args=[batch.pk]),
    }


def _report_links(report: ImportReport) -> list[dict]:
    """The error report's download links: the language of the file's headers first, then the others."""
    headers = report.table.headers if report.table else None
    first = reports.header_language(headers)
    return [
        {"language": code, "name": name, "default": code == first}
        for code, name in sorted(reports.REPORT_LANGUAGES.items(), key=lambda item: item[0] != first)
    ]
