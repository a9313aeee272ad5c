from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from contacts.admin.contacts import ContactsWriteGuardMixin, contacts_writable, save_contact_from_form
from contacts.admin.forms import ContactForm, ContactInlineFormSet
from contacts.fields import CONTACT_FIELDS
from contacts.models import Contact
from contacts.services.changelog import Actor
from contacts.services.contacts import contact_delete
from customers.models import Customer, Organization, OrganizationAPIKey
from customers.services import organization_disconnect_contacts


def count_of(model, parent_field: str) -> Coalesce:
    """How many `model` rows point at the outer row; a subquery, so list pages need no GROUP BY join."""
    subquery = (
        model.objects.filter(**{parent_field: OuterRef("pk")})
        .order_by()
        .values(parent_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(subquery), 0)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "contacts_source",
        "contacts_disconnected_at",
        "customer_count",
        "contact_count",
    )
    list_filter = ("contacts_source",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("contacts_source", "contacts_disconnected_at", "contacts_disconnected_by")
    actions = ["disconnect_contacts"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                customer_count=count_of(Customer, "organization"),
                contact_count=count_of(Contact, "organization"),
            )
        )

    @admin.display(description="customers", ordering="customer_count")
    def customer_count(self, obj):
        return obj.customer_count

    @admin.display(description="contacts", ordering="contact_count")
    def contact_count(self, obj):
        return obj.contact_count

    def has_disconnect_contacts_permission(self, request) -> bool:
        return request.user.has_perm("customers.disconnect_contacts")

    @admin.action(
        permissions=["disconnect_contacts"],
        description="Disconnect contacts from the invoicing sync (irreversible)…",
    )
    def disconnect_contacts(self, request, queryset):
        to_disconnect = [org for org in queryset if not org.contacts_are_managed]
        already = [org for org in queryset if org.contacts_are_managed]
        if request.POST.get("confirm") == "yes":
            for organization in to_disconnect:
                organization_disconnect_contacts(organization=organization, by=request.user)
            if to_disconnect:
                names = ", ".join(org.name for org in to_disconnect)
                self.message_user(
                    request, f"Contacts of {names} are now managed here, no longer synced.", messages.SUCCESS
                )
            if already:
                names = ", ".join(org.name for org in already)
                self.message_user(
                    request, f"Already disconnected, left as they were: {names}.", messages.INFO
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Disconnect contacts from the invoicing sync?",
            "opts": self.model._meta,
            "to_disconnect": to_disconnect,
            "already": already,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/customers/organization/disconnect_confirmation.html", context)


class ContactInline(admin.TabularInline):
    model = Contact
    form = ContactForm
    formset = ContactInlineFormSet
    fields = (*CONTACT_FIELDS, "source")
    readonly_fields = ("source",)
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and contacts_writable(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and contacts_writable(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and contacts_writable(obj)


@admin.register(Customer)
class CustomerAdmin(ContactsWriteGuardMixin, admin.ModelAdmin):
    list_display = ("name", "external_id", "organization", "contact_count", "updated_at")
    list_filter = ("organization",)
    search_fields = ("name", "external_id")
    list_select_related = ("organization",)
    inlines = [ContactInline]

    def contacts_editable(self, obj) -> bool:
        return True  # the customer itself is not a contact; its contacts inline guard themselves

    def get_readonly_fields(self, request, obj=None):
        # Its contacts belong to its organization: a customer never changes organization.
        if obj is not None:
            return ("organization", *self.readonly_fields)
        return self.readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(contact_count=count_of(Contact, "customer"))

    @admin.display(description="contacts", ordering="contact_count")
    def contact_count(self, obj):
        return obj.contact_count

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, object_id)
        if customer is not None and request.method == "GET":
            self.warn_if_synced(request, customer.organization)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Contact:
            return super().save_formset(request, form, formset, change)
        contacts = formset.save(commit=False)
        for contact in formset.deleted_objects:
            contact_delete(contact=contact, actor=Actor.staff(request.user))
        # Main contacts last, so that a newly ticked main demotes the previous one rather than the reverse.
        forms_by_instance = {id(f.instance): f for f in formset.forms}
        for contact in sorted(contacts, key=lambda c: c.is_main):
            contact_form = forms_by_instance[id(contact)]
            contact.customer = form.instance
            save_contact_from_form(request, contact, contact_form, change=contact.pk is not None)
        formset.save_m2m()
        return None


# The library's own key model belongs to no organization and the API accepts none of its keys.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(OrganizationAPIKey)
class OrganizationAPIKeyAdmin(APIKeyModelAdmin):
    """Creating a key shows it once, in a message (the library's save_model); only its hash is kept."""

    list_display = ("name", "organization", "prefix", "created", "last_used_at", "expiry_date", "revoked")
    list_filter = ("organization", "revoked")
    list_select_related = ("organization",)
    search_fields = ("name", "prefix", "organization__name", "organization__slug")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        fields = (*super().get_readonly_fields(request, obj), "last_used_at")
        return fields if obj is None else (*fields, "organization")

    @admin.action(permissions=["change"], description="Revoke the selected API keys (cannot be undone)")
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked=False).update(revoked=True)
        self.message_user(request, f"{revoked} API key(s) revoked; clients using them now get 401.")
