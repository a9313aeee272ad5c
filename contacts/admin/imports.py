"""The spreadsheet import in the admin: upload, dry-run preview, confirm and downloads.

Flow: the upload is kept by contacts.importing.uploads and the browser only carries its key. Preview
and confirm both run the pipeline on the stored bytes, so what is committed is exactly what was previewed.
A big file's preview and commit run in a worker (contacts.tasks) while contacts.admin.progress shows
how far they are; a small file's run here, at once.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django.views.decorators.http import require_GET, require_POST

from contacts.admin.downloads import download, error_report_download
from contacts.admin.forms import ConfirmForm, PreviewKeyForm, UploadForm, managed_organizations
from contacts.admin.import_preview import earlier_import, month_uses, preview_sections, report_links
from contacts.admin.mapping import chosen_mapping, mapping_url
from contacts.importing import reports
from contacts.importing.commit import NOTHING_TO_WRITE
from contacts.importing.findings import ImportRefused, ImportReport
from contacts.importing.limits import OVERRIDE_PERMISSION, month_use
from contacts.importing.mapping import Mapping
from contacts.importing.pipeline import commit_import, preview_import, read_import
from contacts.importing.uploads import (
    find_upload,
    forget_upload,
    keep_upload,
    unpack_report,
    upload_data,
    upload_key,
)
from contacts.models import Contact, ImportUpload
from contacts.tasks import start_commit, start_preview

IMPORT_PERMISSION = "contacts.import_contacts"
HISTORY_PERMISSIONS = ("contacts.view_importbatch", IMPORT_PERMISSION)

PREVIEW_EXPIRED = _(
    "This preview is no longer available (it expired, or the file was uploaded from another session); "
    "upload the file again."
)
NO_ORGANIZATION = _(
    "No organization has disconnected its contacts from the invoicing sync yet; contacts can be "
    "imported only for those that have."
)
IMPORT_TITLE = _("Import contacts")
PREVIEW_TITLE = _("Preview of %(file)s")
IMPORTED = _("Imported %(file)s: %(new)d new, %(updated)d updated, %(unchanged)d unchanged%(skipped)s.")
SKIPPED = ngettext_lazy(", %(invalid)d invalid row skipped", ", %(invalid)d invalid rows skipped", "invalid")
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
    return {"organization": key["organization"].pk, "file": key["file"], "sha256": key["sha256"]}


def preview_url(upload: ImportUpload) -> str:
    return f"{reverse('admin:contacts_contact_import_preview')}?{urlencode(upload_key(upload))}"


# --- Views -------------------------------------------------------------------------------------------


class ContactImportViews:
    """The import views of the Contact admin; mounted by ContactAdmin.get_urls."""

    def __init__(self, model_admin: admin.ModelAdmin):
        self.model_admin = model_admin
        self.admin_site = model_admin.admin_site

    def urls(self) -> list:
        from contacts.admin.progress import progress_urls

        wrap = self.admin_site.admin_view
        return [
            *progress_urls(self),
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
                kept = keep_upload(
                    user=request.user,
                    data=upload.read(),
                    filename=upload.name,
                    organization=form.cleaned_data["organization"],
                    blank_clears=form.cleaned_data["blank_clears"],
                )
                if kept.background:
                    start_preview(kept)
                return HttpResponseRedirect(preview_url(kept))
        else:
            form = UploadForm(initial={"organization": request.GET.get("organization")})
        organizations = list(managed_organizations())
        context = self._context(
            request,
            title=IMPORT_TITLE,
            form=form,
            no_organization=NO_ORGANIZATION if not organizations else "",
            **month_uses(request, organizations),
            in_progress=ImportUpload.objects.defer("data", "preview")
            .filter(user=request.user, background=True)
            .exclude(status=ImportUpload.Status.UPLOADED)
            .select_related("organization")
            .order_by("-created_at")[:10],
        )
        return TemplateResponse(request, "admin/contacts/contact/import_form.html", context)

    def _key(self, request, data) -> tuple[dict, ImportUpload] | None:
        """The key from the browser and the user's upload it names (without its bytes), or None."""
        form = PreviewKeyForm(data)
        if not form.is_valid():
            return None
        key = form.cleaned_data
        upload = find_upload(user=request.user, key=key)
        return None if upload is None else (key, upload)

    @staticmethod
    def _report(key: dict, upload: ImportUpload, mapping: Mapping | None) -> ImportReport | None:
        """The upload's preview: run now for a small file, kept by the worker for a big one; None when
        it is not (or no longer) there."""
        if upload.background:
            return unpack_report(upload)
        data = upload_data(upload)
        if data is None:
            return None
        organization = key["organization"]
        return preview_import(
            organization=organization,
            data=data,
            filename=upload.file_name,
            mapping=mapping,
            blank_clears=upload.blank_clears,
        )

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
        key, upload = found
        mapping = chosen_mapping(upload)
        if upload.background and upload.status != ImportUpload.Status.PREVIEWED:
            start_preview(upload)  # when it was not queued yet
            progress = reverse("admin:contacts_import_preview_progress", args=[upload.token])
            return HttpResponseRedirect(progress)
        report = self._report(key, upload, mapping)
        if report is None:
            return self._expired(request)
        if report.reading is not None and report.reading.reasons:
            return HttpResponseRedirect(mapping_url(key))  # a person must say how to read it first
        organization, filename = key["organization"], upload.file_name
        context = self._context(
            request,
            title=PREVIEW_TITLE % {"file": filename},
            filename=filename,
            organization=organization,
            report=report,
            key_query=urlencode(_key_query(key)),
            reading_summary=report.reading.summary if report.reading else "",
            mapping_url=mapping_url(key) if report.reading else "",
            saves_profile=mapping is not None,
            report_links=report_links(report),
            **earlier_import(report),
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
        key, upload = found
        if not form.is_valid():
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
            return HttpResponseRedirect(self._preview_url(key))
        organization, filename = key["organization"], upload.file_name
        reason = form.cleaned_data["override_reason"] if request.user.has_perm(OVERRIDE_PERMISSION) else ""
        mapping = chosen_mapping(upload)  # chosen in the mapping step: saved as the profile
        if upload.background:
            batch = start_commit(
                upload=upload,
                user=request.user,
                skip_invalid=form.cleaned_data["skip_invalid"],
                override_reason=reason,
            )
            return HttpResponseRedirect(reverse("admin:contacts_import_progress", args=[batch.pk]))
        data = upload_data(upload)
        if data is None:
            return self._expired(request)
        try:
            report = commit_import(
                organization=organization,
                data=data,
                filename=filename,
                user=request.user,
                skip_invalid=form.cleaned_data["skip_invalid"],
                override_reason=reason,
                mapping=mapping,
                save_as_profile=mapping is not None,
                blank_clears=upload.blank_clears,
            )
        except ImportRefused as refusal:
            # Nothing was written; back to the preview, which shows why.
            messages.error(request, str(refusal))
            return HttpResponseRedirect(self._preview_url(key))
        forget_upload(upload)
        messages.success(request, imported_summary(filename, report.totals))
        # The import's page: what it did, and at its top the error report to send back to the client.
        return HttpResponseRedirect(reverse("admin:contacts_importbatch_change", args=[report.batch.pk]))

    @method_decorator(require_GET)
    def preview_error_report(self, request, format: str):
        self._check(request)
        if format not in reports.FORMATS:
            raise Http404
        found = self._key(request, request.GET)
        data = upload_data(found[1]) if found is not None else None
        if data is None:
            return self._expired(request)
        key, upload = found
        filename, mapping = upload.file_name, chosen_mapping(upload)
        asked = request.GET.get("language")
        if upload.background:
            content = self._kept_error_report(key, upload, mapping, data, format)
            if content is None:
                return self._expired(request)
            return error_report_download(content, format=format, source=filename)

        def report_in(language: str) -> tuple[ImportReport, bytes]:
            with translation.override(language):
                report = self._report(key, upload, mapping)
                return report, reports.import_error_report(report, data, format=format)

        # The messages are rendered as the checks find them: in the language asked for, or else in the
        # language of the file's headers (known once it is read: read again when it is not the one tried).
        tried = asked if asked in reports.REPORT_LANGUAGES else translation.get_language()
        report, content = report_in(tried)
        language = reports.report_language(asked, report.table.headers if report.table else None)
        if language != tried:
            report, content = report_in(language)
        return error_report_download(content, format=format, source=filename)

    @staticmethod
    def _kept_error_report(
        key: dict, upload: ImportUpload, mapping, data: bytes, format: str
    ) -> bytes | None:
        """A big file's error report, from the problems its background preview kept (in the language it
        ran in: checking 200,000 rows again is the worker's job, not a download's) and its cells."""
        report = unpack_report(upload)
        if report is None:
            return None
        read = read_import(
            organization=key["organization"], data=data, filename=upload.file_name, mapping=mapping
        )
        report.table = read.table
        return reports.import_error_report(report, data, format=format)

    @method_decorator(require_GET)
    def template(self, request, format: str):
        """The import template, with English headers, or French ones with `?language=fr`."""
        self._check(request)
        language = request.GET.get("language", "en")
        if language not in reports.REPORT_LANGUAGES:
            raise Http404
        if format == "csv":
            content = reports.template_csv(language)
        elif format == "xlsx":
            content = reports.template_xlsx(language)
        else:
            raise Http404
        suffix = "-fr" if language == "fr" else ""
        return download(
            content,
            content_type=reports.FORMATS[format],
            filename=f"contacts-import-template{suffix}.{format}",
        )


def imported_summary(filename: str, totals: dict) -> str:
    """What a committed import did, in one sentence."""
    skipped = SKIPPED % {"invalid": totals["invalid"]} if totals["invalid"] else ""
    return IMPORTED % {
        "file": filename,
        "new": totals["new"],
        "updated": totals["updated"],
        "unchanged": totals["unchanged"],
        "skipped": skipped,
    }
