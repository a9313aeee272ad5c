"""The contact pages: every write goes through the services; synced organizations' contacts are read-only."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from contacts.admin import changes
from contacts.admin.display import EMPTY, LIST_CSS, breakable_email, compact_date, main_mark
from contacts.admin.exporting import ContactExportMixin
from contacts.admin.forms import ContactForm, SyncedContactForm
from contacts.admin.imports import ContactImportViews
from contacts.admin.mapping import ImportMappingViews
from contacts.fields import CONTACT_FIELDS
from contacts.models import Contact, ContactChange
from contacts.services.bulk import contacts_delete
from contacts.services.changelog import Actor
from contacts.services.contacts import (
    CONTACTS_SYNCED,
    EDITABLE_WHILE_SYNCED,
    contact_create,
    contact_delete,
    contact_update,
)

OCCUPATION_STILL_EDITABLE = _("Only the occupation can still be changed here.")

# Ticking "main contact" demotes the customer's previous main contact: the admin says so.
DEMOTED_NOTICE = _("%(contact)s is no longer the main contact of %(customer)s.")
HISTORY_TITLE = _("History of %(contact)s")
DELETED_CONTACT = _("The contact %(code)s (#%(id)s) was deleted; this is what was recorded of it until then.")
NO_HISTORY = _("Nothing was recorded for this contact since the change log exists.")
HISTORY_PAGE_SIZE = 100


def save_contact_from_form(request, obj: Contact, form: forms.ModelForm, change: bool) -> None:
    """Write an admin form's contact through the services (shared by the contact and customer pages),
    and say which main contact the save demoted, if any."""
    actor = Actor.staff(request.user)
    if change:
        values = {f: getattr(obj, f) for f in CONTACT_FIELDS if f in form.changed_data}
        saved = contact_update(contact=obj, actor=actor, **values)
    else:
        saved = contact_create(
            organization=obj.customer.organization,
            customer=obj.customer,
            actor=actor,
            **{f: getattr(obj, f) for f in CONTACT_FIELDS},
        )
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at
        obj.source = saved.source
        obj._state.adding = False
    for demoted in saved.demoted:
        messages.info(request, demoted_notice(demoted))


def demoted_notice(contact: Contact) -> str:
    """ "Léa Laurent is no longer the main contact of Cabinet Laurent"."""
    name = f"{contact.first_name} {contact.last_name}".strip() or contact.email
    return DEMOTED_NOTICE % {"contact": name, "customer": contact.customer.name}


def contacts_writable(owner) -> bool:
    """Whether the contacts of `owner` (a contact or a customer; None on an add page) may be written here."""
    return owner is None or owner.organization.contacts_are_managed


class ContactsWriteGuardMixin:
    """Contacts of an organization still synced from invoicing are read-only; races become messages."""

    def contacts_editable(self, obj) -> bool:
        return contacts_writable(obj)

    def contacts_changeable(self, obj) -> bool:
        """Whether the change page saves (the page may still keep some fields read-only)."""
        return self.contacts_editable(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.contacts_changeable(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.contacts_editable(obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            # Only a concurrent write gets here: the form already checked every rule.
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(request.get_full_path())

    def warn_if_synced(self, request, organization) -> None:
        if organization is not None and not organization.contacts_are_managed:
            messages.warning(request, CONTACTS_SYNCED.format(organization=organization.name))


@admin.register(Contact)
class ContactAdmin(ContactsWriteGuardMixin, ContactExportMixin, admin.ModelAdmin):
    form = ContactForm
    # What support reads all day, compactly: the list fits 1366 px beside the admin's sidebars
    # (tests/browser/test_lists.py); the phone, the organization and the dates are on the contact's page.
    list_display = (
        "name",
        "email_address",
        "external_id",
        "customer_name",
        "main",
        "occupation",
        "source",
        "updated",
    )
    list_display_links = ("name", "email_address")
    list_filter = ("organization", "occupation", "is_main", "source")
    search_fields = (
        "email",
        "first_name",
        "last_name",
        "external_id",
        "customer__name",
        "customer__external_id",
    )
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    readonly_fields = ("organization", "source", "created_at", "updated_at")
    list_per_page = 100
    show_full_result_count = False
    # Adds "Import contacts", "Export contacts" and the import history to the list's tools.
    change_list_template = "admin/contacts/contact/change_list.html"
    fieldsets = (
        (None, {"fields": ("customer", "external_id", "email", "is_main")}),
        (_("Person"), {"fields": ("first_name", "last_name", "phone", "occupation")}),
        (_("Record"), {"fields": ("organization", "source", "created_at", "updated_at")}),
    )

    class Media:
        css = {"all": [LIST_CSS]}

    @admin.display(description=_("name"), ordering="last_name")
    def name(self, contact: Contact) -> str:
        return f"{contact.first_name} {contact.last_name}".strip() or EMPTY

    @admin.display(description=_("email"), ordering="email")
    def email_address(self, contact: Contact):
        return breakable_email(contact.email)

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_name(self, contact: Contact):
        customer = contact.customer
        return format_html('<span title="{}">{}</span>', customer.external_id, customer.name)

    @admin.display(description=_("main"), ordering="is_main")
    def main(self, contact: Contact):
        return main_mark(contact.is_main)

    @admin.display(description=_("updated"), ordering="updated_at")
    def updated(self, contact: Contact):
        return compact_date(contact.updated_at)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer", "organization")

    def contacts_changeable(self, obj) -> bool:
        # Still synced from invoicing: the occupation alone may be changed (get_readonly_fields).
        return True

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not contacts_writable(obj):
            editable = [f for f in flatten_fieldsets(self.fieldsets) if f not in EDITABLE_WHILE_SYNCED]
            return tuple(dict.fromkeys([*editable, *self.readonly_fields]))
        # A contact is never moved to another customer (the import and the API refuse it too).
        if obj is not None:
            return ("customer", *self.readonly_fields)
        return self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and not contacts_writable(obj):
            kwargs["form"] = SyncedContactForm
        return super().get_form(request, obj, change, **kwargs)

    def get_urls(self):
        views = ContactImportViews(self)
        return views.urls() + ImportMappingViews(views).urls() + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        contact = self.get_object(request, object_id)
        if contact is not None and request.method == "GET" and not contacts_writable(contact):
            synced = CONTACTS_SYNCED.format(organization=contact.organization.name)
            messages.warning(request, f"{synced} {OCCUPATION_STILL_EDITABLE}")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        save_contact_from_form(request, obj, form, change)

    def history_view(self, request, object_id, extra_context=None):
        """The contact's change log, newest first; for a deleted contact too (its id stays in the log)."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            contact_id = int(unquote(object_id))
        except ValueError:
            raise Http404 from None
        contact = self.get_object(request, str(contact_id))
        entries = ContactChange.objects.filter(contact_id=contact_id).select_related("batch").order_by("-pk")
        last = entries.first()
        if contact is None and last is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        paginator = self.get_paginator(request, entries, HISTORY_PAGE_SIZE)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        rows = [
            {
                "when": changes.when(entry),
                "who": changes.who(entry),
                "channel": entry.get_channel_display(),
                "action": entry.get_action_display(),
                "fields": changes.change_list_html(entry) if entry.before or entry.after else "",
                "batch": changes.batch_link(entry),
            }
            for entry in page.object_list
        ]
        count = paginator.count
        context = {
            **self.admin_site.each_context(request),
            "title": HISTORY_TITLE % {"contact": contact or (last.external_id if last else "")},
            "subtitle": None,
            "object": contact,
            "external_id": last.external_id if last else "",
            "deleted_notice": DELETED_CONTACT % {"code": last.external_id, "id": contact_id} if last else "",
            "no_history": NO_HISTORY,
            "rows": rows,
            "page": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": count > HISTORY_PAGE_SIZE,
            "count_text": ngettext("%(count)s entry", "%(count)s entries", count) % {"count": count},
            "module_name": str(self.opts.verbose_name_plural).capitalize(),
            "opts": self.opts,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/contacts/contact/object_history.html", context)

    def delete_model(self, request, obj):
        contact_delete(contact=obj, actor=Actor.staff(request.user))

    def delete_queryset(self, request, queryset):
        contacts_delete(
            contact_ids=list(queryset.values_list("pk", flat=True)), actor=Actor.staff(request.user)
        )
