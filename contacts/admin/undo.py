"""Undo an import from its page: a preview of what the undo will do (contacts deleted, restored, and
the conflicts left alone unless ticked), then the confirmation. The service (contacts.services.undo)
decides everything; this face checks the permission, shows the plan and says what happened."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from contacts.admin import changes
from contacts.admin.imports import can_see_history
from contacts.models import ContactChange, ImportBatch
from contacts.services.changelog import Actor, difference
from contacts.services.undo import Target, UndoPlan, import_undo, plan_undo
from customers.models import Organization

UNDO_PERMISSION = "contacts.undo_import"
NOT_ALLOWED = _(
    "You are not allowed to undo imports; ask someone with the “Can undo a committed import” permission."
)
UNDONE = _(
    "Import #%(batch)s undone: %(deleted)s contact(s) deleted, %(restored)s restored, "
    "%(left)s left as they were."
)
UNDO_TITLE = _("Undo import #%(batch)s (%(file)s, %(organization)s)?")
DELETED_SINCE = _("Deleted since the import.")
MAIN_SINCE = _("Since the import, %(codes)s became the main contact of this customer.")
KEEPS_MAIN = _(
    "Left as it is, even with the box ticked: it is its customer's main contact, and undoing it would "
    "leave the customer without one (the main contact before the import, %(previous)s, was changed or "
    "deleted since)."
)
SHOWN = 100  # contacts listed per section; the totals count them all


def can_undo(request) -> bool:
    user = request.user
    return user.is_active and user.is_staff and user.has_perm(UNDO_PERMISSION)


class UndoForm(forms.Form):
    # The organization the preview showed: the service refuses an import of another one.
    organization = forms.ModelChoiceField(queryset=Organization.objects.all(), widget=forms.HiddenInput)
    include_conflicts = forms.BooleanField(
        required=False,
        label=_("Also restore the conflicting contacts"),
        help_text=_("Their changes made after the import are lost."),
    )


class ImportUndoViews:
    """The undo views of the import history; mounted by ImportBatchAdmin.get_urls."""

    def __init__(self, model_admin: admin.ModelAdmin):
        self.admin_site = model_admin.admin_site

    def urls(self) -> list:
        return [
            path("<int:pk>/undo/", self.admin_site.admin_view(self.undo), name="contacts_importbatch_undo")
        ]

    def undo(self, request, pk: int):
        if not can_see_history(request):
            raise PermissionDenied
        batch = ImportBatch.objects.select_related("organization").filter(pk=pk).first()
        if batch is None:
            raise Http404
        batch_url = reverse("admin:contacts_importbatch_change", args=[pk])
        if not can_undo(request):
            messages.error(request, NOT_ALLOWED)
            return HttpResponseRedirect(batch_url)
        try:
            if request.method == "POST":
                return self._confirm(request, batch, batch_url)
            plan = plan_undo(organization=batch.organization, batch_id=pk)
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
            return HttpResponseRedirect(batch_url)
        form = UndoForm(initial={"organization": batch.organization_id})
        return TemplateResponse(
            request, "admin/contacts/importbatch/undo.html", self._context(request, plan, form)
        )

    def _confirm(self, request, batch: ImportBatch, batch_url: str):
        form = UndoForm(request.POST)
        if not form.is_valid():
            raise ValidationError([m for errors in form.errors.values() for m in errors])
        plan = import_undo(
            organization=form.cleaned_data["organization"],
            batch_id=batch.pk,
            actor=Actor.staff(request.user, channel=ContactChange.Channel.UNDO),
            include_conflicts=form.cleaned_data["include_conflicts"],
        )
        messages.success(request, UNDONE % {"batch": batch.pk, **plan.totals})
        return HttpResponseRedirect(batch_url)

    def _context(self, request, plan: UndoPlan, form: UndoForm) -> dict:
        batch = plan.batch
        return {
            **self.admin_site.each_context(request),
            "opts": ImportBatch._meta,
            "title": UNDO_TITLE
            % {"batch": batch.pk, "file": batch.file_name, "organization": batch.organization},
            "batch": batch,
            "totals": plan.totals,
            "conflicts": [_conflict(target) for target in plan.conflicts[:SHOWN]],
            "restored": [_restored(target) for target in plan.restore[:SHOWN]],
            "deleted": [(changes.history_url(t.contact_id), t.external_id) for t in plan.delete[:SHOWN]],
            "more_conflicts": max(0, len(plan.conflicts) - SHOWN),
            "more_restored": max(0, len(plan.restore) - SHOWN),
            "more_deleted": len(plan.delete) > SHOWN,
            "form": form,
        }


def _conflict(target: Target) -> dict:
    """A conflict as the preview lists it: the contact, and who changed what since the import."""
    later = [
        {
            "when": changes.when(entry),
            "who": changes.who(entry),
            "channel": entry.get_channel_display(),
            "action": entry.get_action_display(),
            "fields": changes.change_list_html(entry),
        }
        for entry in target.later
    ]
    notes = []
    if target.current is None:
        notes.append(DELETED_SINCE)
    if target.displaced:
        notes.append(MAIN_SINCE % {"codes": ", ".join(d["external_id"] for d in target.displaced)})
    if target.keeps_main:
        notes.append(KEEPS_MAIN % {"previous": target.previous_main})
    return {
        "url": changes.history_url(target.contact_id),
        "code": target.external_id,
        "later": later,
        "notes": notes,
    }


def _restored(target: Target) -> dict:
    """A contact to restore: `field: now → before the import`."""
    back = {name: value for name, value in (target.before or {}).items() if name in target.current}
    return {
        "url": changes.history_url(target.contact_id),
        "code": target.external_id,
        "lines": changes.change_lines(*difference(target.current, back)),
    }
