"""The progress page of a big file's preview or commit, which a worker runs (contacts.tasks).

The page shows the stage, rows done of total, elapsed and estimated time; a small static script
(static/contacts/import-progress.js, no inline script) polls the JSON twin of the page every second
and a half and goes on to the preview or the result once the worker is done. Leaving and coming back
is safe: the upload page lists the user's previews in progress and the import history lists running
commits. A run whose worker stopped reporting is recorded as failed when anyone looks
(contacts.importing.progress.mark_stopped_workers), and by `sweep_imports` when nobody does.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.admin.imports import PREVIEW_TITLE, ContactImportViews, can_import, can_see_history, preview_url
from contacts.importing.progress import ROWS_DONE, Stage, estimate, mark_stopped_workers
from contacts.models import ImportBatch, ImportUpload

WAITING = gettext_lazy(
    "Waiting for a worker to start it. If it waits long, check that a worker runs (manage.py import_worker)."
)
FAILED = gettext_lazy("Failed: {reason}")
POLL_EVERY_MS = 1500


def progress_urls(views: ContactImportViews) -> list:
    pages = ProgressViews(views)
    wrap = views.admin_site.admin_view
    return [
        path(
            "import/progress/preview/<str:token>/",
            wrap(pages.preview_page),
            name="contacts_import_preview_progress",
        ),
        path(
            "import/progress/preview/<str:token>/status.json",
            wrap(pages.preview_status),
            name="contacts_import_preview_status",
        ),
        path("import/progress/<int:pk>/", wrap(pages.commit_page), name="contacts_import_progress"),
        path(
            "import/progress/<int:pk>/status.json", wrap(pages.commit_status), name="contacts_import_status"
        ),
    ]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = round(seconds)
    if seconds < 60:
        return _("%(seconds)d s") % {"seconds": seconds}
    return _("%(minutes)d min %(seconds)02d s") % {"minutes": seconds // 60, "seconds": seconds % 60}


def _state(work: ImportBatch | ImportUpload, kind: str) -> dict:
    """What the page shows of a queued or running run (the same for the HTML page and its JSON)."""
    if work.status == work.Status.QUEUED:
        return {"status": "queued", "stage": str(work.Status.QUEUED.label), "message": str(WAITING)}
    if work.status == work.Status.FAILED:
        return {"status": "failed", "stage": "", "message": FAILED.format(reason=work.failure_reason)}
    times = estimate(work, kind)
    stage = Stage(work.stage).label if work.stage in Stage.values else str(work.Status.RUNNING.label)
    rows = ""
    if work.rows_total:
        rows = ROWS_DONE % {
            "done": f"{work.rows_done:,}",
            "total": f"{work.rows_total:,}",
        }
    remaining = _duration(times.remaining)
    return {
        "status": "running",
        "stage": str(stage),
        "rows": rows,
        "fraction": round(times.fraction, 3),
        "elapsed": _("Elapsed: %(time)s") % {"time": _duration(times.elapsed)} if times.elapsed else "",
        "remaining": _("About %(time)s left") % {"time": remaining} if remaining else "",
        "message": "",
    }


class ProgressViews:
    def __init__(self, views: ContactImportViews) -> None:
        self.views = views

    # --- A preview ------------------------------------------------------------------------------------

    def _upload(self, request, token: str) -> ImportUpload:
        if not can_import(request):
            raise PermissionDenied
        mark_stopped_workers()
        upload = (
            ImportUpload.objects.defer("data", "preview")
            .select_related("organization")
            .filter(token=token, user=request.user)
            .first()
        )
        if upload is None:
            raise Http404
        return upload

    def _preview_state(self, upload: ImportUpload) -> dict:
        if upload.status == ImportUpload.Status.PREVIEWED:
            return {"status": "done", "next": preview_url(upload)}
        return _state(upload, "preview")

    def preview_page(self, request, token: str):
        upload = self._upload(request, token)
        state = self._preview_state(upload)
        if state.get("next"):
            return HttpResponseRedirect(state["next"])
        return self._page(
            request,
            title=PREVIEW_TITLE % {"file": upload.file_name},
            state=state,
            organization=upload.organization,
            file_name=upload.file_name,
            status_url=reverse("admin:contacts_import_preview_status", args=[token]),
            again_url=f"{reverse('admin:contacts_contact_import')}?organization={upload.organization_id}",
        )

    def preview_status(self, request, token: str):
        return _json(self._preview_state(self._upload(request, token)))

    # --- A commit -------------------------------------------------------------------------------------

    def _batch(self, request, pk: int) -> ImportBatch:
        if not can_import(request):
            raise PermissionDenied
        mark_stopped_workers()
        batch = ImportBatch.objects.select_related("organization").filter(pk=pk).first()
        if batch is None or (batch.user_id != request.user.pk and not can_see_history(request)):
            raise Http404
        return batch

    def _commit_state(self, batch: ImportBatch) -> dict:
        if batch.status == ImportBatch.Status.COMMITTED:
            return {"status": "done", "next": reverse("admin:contacts_importbatch_change", args=[batch.pk])}
        return _state(batch, "commit")

    def commit_page(self, request, pk: int):
        batch = self._batch(request, pk)
        state = self._commit_state(batch)
        if state.get("next"):
            return HttpResponseRedirect(state["next"])
        upload = ImportUpload.objects.defer("data", "preview").filter(pk=batch.upload_id).first()
        return self._page(
            request,
            title=_("Import of %(file)s") % {"file": batch.file_name},
            state=state,
            organization=batch.organization,
            file_name=batch.file_name,
            status_url=reverse("admin:contacts_import_status", args=[pk]),
            preview_url=preview_url(upload) if upload is not None else "",
            history_url=reverse("admin:contacts_importbatch_change", args=[pk]),
            again_url=f"{reverse('admin:contacts_contact_import')}?organization={batch.organization_id}",
        )

    def commit_status(self, request, pk: int):
        return _json(self._commit_state(self._batch(request, pk)))

    def _page(self, request, **context):
        context = self.views._context(request, poll_every=POLL_EVERY_MS, **context)
        return TemplateResponse(request, "admin/contacts/contact/import_progress.html", context)


def _json(state: dict) -> JsonResponse:
    response = JsonResponse(state)
    response["Cache-Control"] = "no-store"
    return response
