"""The contact pages: every write goes through the services; synced organizations' contacts are read-only."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from contacts.admin.forms import ContactForm
from contacts.admin.imports import ContactImportViews
from contacts.admin.mapping import ImportMappingViews
from contacts.fields import CONTACT_FIELDS
from contacts.models import Contact
from contacts.services.contacts import CONTACTS_SYNCED, contact_create, contact_delete, contact_update


def save_contact_from_form(obj: Contact, form: forms.ModelForm, change: bool) -> None:
    """Write an admin form's contact through the services (shared by the contact and customer pages)."""
    if change:
        contact_update(contact=obj, **{f: getattr(obj, f) for f in CONTACT_FIELDS if f in form.changed_data})
        return
    created = contact_create(
        organization=obj.customer.organization,
        customer=obj.customer,
        source=Contact.Source.MANUAL,
        **{f: getattr(obj, f) for f in CONTACT_FIELDS},
    )
    obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at
    obj._state.adding = False


def contacts_writable(owner) -> bool:
    """Whether the contacts of `owner` (a contact or a customer; None on an add page) may be written here."""
    return owner is None or owner.organization.contacts_are_managed


class ContactsWriteGuardMixin:
    """Contacts of an organization still synced from invoicing are read-only; races become messages."""

    def contacts_editable(self, obj) -> bool:
        return contacts_writable(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.contacts_editable(obj)

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
class ContactAdmin(ContactsWriteGuardMixin, admin.ModelAdmin):
    form = ContactForm
    list_display = (
        "email",
        "first_name",
        "last_name",
        "customer",
        "organization",
        "phone",
        "occupation",
        "is_main",
        "source",
        "updated_at",
    )
    list_display_links = ("email",)
    list_filter = ("organization", "occupation", "is_main", "source")
    search_fields = (
        "email",
        "first_name",
        "last_name",
        "external_id",
        "customer__name",
        "customer__external_id",
    )
    list_select_related = ("customer", "organization")
    autocomplete_fields = ("customer",)
    readonly_fields = ("organization", "source", "created_at", "updated_at")
    list_per_page = 100
    show_full_result_count = False
    # Adds "Import contacts" (and the import history) to the list's tools for staff allowed to import.
    change_list_template = "admin/contacts/contact/change_list.html"
    fieldsets = (
        (None, {"fields": ("customer", "external_id", "email", "is_main")}),
        ("Person", {"fields": ("first_name", "last_name", "phone", "occupation")}),
        ("Record", {"fields": ("organization", "source", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer", "organization")

    def get_readonly_fields(self, request, obj=None):
        # A contact is never moved to another customer (the import and the API refuse it too).
        if obj is not None:
            return ("customer", *self.readonly_fields)
        return self.readonly_fields

    def get_urls(self):
        views = ContactImportViews(self)
        return views.urls() + ImportMappingViews(views).urls() + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        contact = self.get_object(request, object_id)
        if contact is not None and request.method == "GET":
            self.warn_if_synced(request, contact.organization)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        save_contact_from_form(obj, form, change)

    def delete_model(self, request, obj):
        contact_delete(contact=obj)

    def delete_queryset(self, request, queryset):
        for contact in queryset.select_related("organization"):
            contact_delete(contact=contact)
