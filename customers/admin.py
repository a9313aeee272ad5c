from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from contacts.admin.contacts import ContactsWriteGuardMixin, contacts_writable, save_contact_from_form
from contacts.admin.display import LIST_CSS, compact_date, user_fields, user_name
from contacts.admin.forms import ContactForm, ContactInlineFormSet
from contacts.admin.mapping import ImportProfileInline
from contacts.fields import CONTACT_FIELDS
from contacts.models import Contact
from contacts.selectors import with_main_contact, without_contacts, without_main_contact
from contacts.services.bulk import contacts_delete
from contacts.services.changelog import Actor
from customers.models import Customer, Organization, OrganizationAPIKey
from customers.services import customer_delete, organization_disconnect_contacts


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


DISCONNECTED = _("Contacts of %(names)s are now managed here, no longer synced.")
ALREADY_DISCONNECTED = _("Already disconnected, left as they were: %(names)s.")
KEYS_REVOKED = ngettext_lazy(
    "%(count)d API key revoked; clients using it now get 401.",
    "%(count)d API keys revoked; clients using them now get 401.",
    "count",
)


class CustomerContactsFilter(admin.SimpleListFilter):
    """Customers reminders cannot reach well: without any contact, or whose contacts include no main
    contact. The two are apart (a customer without contacts is in the first only), as on the admin
    index's month-at-a-glance panel, whose counts link here."""

    title = _("contacts")
    parameter_name = "contacts"
    WITHOUT = "none"
    WITHOUT_MAIN = "no_main"
    WITH_MAIN = "main"

    def lookups(self, request, model_admin):
        return [
            (self.WITHOUT, _("Without contacts")),
            (self.WITHOUT_MAIN, _("Without a main contact")),
            (self.WITH_MAIN, _("With a main contact")),
        ]

    def queryset(self, request, queryset):
        if self.value() == self.WITHOUT:
            return queryset.filter(without_contacts())
        if self.value() == self.WITHOUT_MAIN:
            return queryset.filter(without_main_contact())
        if self.value() == self.WITH_MAIN:
            return queryset.filter(with_main_contact())
        return queryset


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    # Compact columns: the list fits 1366 px beside the admin's sidebars (tests/browser/test_lists.py).
    list_display = (
        "name",
        "slug",
        "source",
        "disconnected",
        "customer_count",
        "contact_count",
    )
    list_filter = ("contacts_source",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = (
        "contacts_source",
        "contacts_disconnected_at",
        "contacts_disconnected_by",
        "contacts_disconnected_by_name",
    )
    actions = ["disconnect_contacts"]
    inlines = [ImportProfileInline]
    # Adds "Export contacts" (and "Import contacts" once disconnected) to the page's tools.
    change_form_template = "admin/customers/organization/change_form.html"

    class Media:
        css = {"all": [LIST_CSS]}

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != "contacts_disconnected_by_name"]
        return user_fields(
            request, self.admin_site, fields, {"contacts_disconnected_by": "contacts_disconnected_by_name"}
        )

    @admin.display(description=_("contacts source"), ordering="contacts_source")
    def source(self, organization: Organization) -> str:
        if organization.contacts_are_managed:
            return gettext("Managed here")
        return gettext("Synced")

    @admin.display(description=_("disconnected"), ordering="contacts_disconnected_at")
    def disconnected(self, organization: Organization):
        return compact_date(organization.contacts_disconnected_at)

    @admin.display(description=_("contacts disconnected by"))
    def contacts_disconnected_by_name(self, organization: Organization) -> str:
        return user_name(organization.contacts_disconnected_by)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                customer_count=count_of(Customer, "organization"),
                contact_count=count_of(Contact, "organization"),
            )
        )

    @admin.display(description=_("customers"), ordering="customer_count")
    def customer_count(self, obj):
        return obj.customer_count

    @admin.display(description=_("contacts"), ordering="contact_count")
    def contact_count(self, obj):
        return obj.contact_count

    def has_disconnect_contacts_permission(self, request) -> bool:
        return request.user.has_perm("customers.disconnect_contacts")

    @admin.action(
        permissions=["disconnect_contacts"],
        description=_("Disconnect contacts from the invoicing sync (irreversible)…"),
    )
    def disconnect_contacts(self, request, queryset):
        to_disconnect = [org for org in queryset if not org.contacts_are_managed]
        already = [org for org in queryset if org.contacts_are_managed]
        if request.POST.get("confirm") == "yes":
            for organization in to_disconnect:
                organization_disconnect_contacts(organization=organization, by=request.user)
            if to_disconnect:
                names = ", ".join(org.name for org in to_disconnect)
                self.message_user(request, DISCONNECTED % {"names": names}, messages.SUCCESS)
            if already:
                names = ", ".join(org.name for org in already)
                self.message_user(request, ALREADY_DISCONNECTED % {"names": names}, messages.INFO)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Disconnect contacts from the invoicing sync?"),
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
    list_display = ("name", "external_id", "organization", "contact_count", "updated")
    list_filter = ("organization", CustomerContactsFilter)
    search_fields = ("name", "external_id")
    list_select_related = ("organization",)
    inlines = [ContactInline]

    class Media:
        css = {"all": [LIST_CSS]}

    def delete_model(self, request, obj):
        customer_delete(customer=obj, actor=Actor.staff(request.user))

    def delete_queryset(self, request, queryset):
        for customer in queryset.select_related("organization"):
            try:
                customer_delete(customer=customer, actor=Actor.staff(request.user))
            except ValidationError as refusal:  # a synced organization's customer with contacts
                self.message_user(request, " ".join(refusal.messages), messages.ERROR)

    def has_delete_permission(self, request, obj=None):
        # A synced organization's contacts are the invoicing system's: so is a customer that has some.
        if obj is not None and not obj.organization.contacts_are_managed and obj.contacts.exists():
            return False
        return super().has_delete_permission(request, obj)

    def contacts_editable(self, obj) -> bool:
        return True  # the customer itself is not a contact; its contacts inline guard themselves

    def get_readonly_fields(self, request, obj=None):
        # Its contacts belong to its organization: a customer never changes organization.
        if obj is not None:
            return ("organization", *self.readonly_fields)
        return self.readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(contact_count=count_of(Contact, "customer"))

    @admin.display(description=_("contacts"), ordering="contact_count")
    def contact_count(self, obj):
        return obj.contact_count

    @admin.display(description=_("updated"), ordering="updated_at")
    def updated(self, customer: Customer):
        return compact_date(customer.updated_at)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, object_id)
        if customer is not None and request.method == "GET":
            self.warn_if_synced(request, customer.organization)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Contact:
            return super().save_formset(request, form, formset, change)
        contacts = formset.save(commit=False)
        if formset.deleted_objects:
            ids = [contact.pk for contact in formset.deleted_objects]
            contacts_delete(contact_ids=ids, actor=Actor.staff(request.user))
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
    """A new key is shown once, on a page rendered here from the session, then forgotten: never in a
    message (the library's save_model puts it in the messages cookie, signed but readable), a URL
    or a log. Only its hash is kept."""

    NEW_KEY_SESSION = "new_api_key"
    NEW_KEY_TITLE = _("The new API key")
    STORE_IT = _(
        "Copy this key now and store it safely (in the client's secret store): it is shown on this page "
        "once and cannot be shown again; only its hash is kept."
    )
    ALREADY_SHOWN = _(
        "This key was already shown once and cannot be shown again. If it was lost, revoke it and "
        "create a new one."
    )

    list_display = (
        "name",
        "organization",
        "prefix",
        "read_only",
        "created_on",
        "last_used",
        "expires",
        "revoked",
    )
    list_filter = ("organization", "read_only", "revoked")
    list_select_related = ("organization",)
    search_fields = ("name", "prefix", "organization__name", "organization__slug")
    actions = ["revoke"]

    class Media:
        css = {"all": [LIST_CSS]}

    @admin.display(description=_("created"), ordering="created")
    def created_on(self, key: OrganizationAPIKey):
        return compact_date(key.created)

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, key: OrganizationAPIKey):
        return compact_date(key.last_used_at)

    @admin.display(description=_("expires"), ordering="expiry_date")
    def expires(self, key: OrganizationAPIKey):
        return compact_date(key.expiry_date)

    def get_readonly_fields(self, request, obj=None):
        fields = (*super().get_readonly_fields(request, obj), "last_used_at")
        return fields if obj is None else (*fields, "organization")

    def get_urls(self):
        reveal = path(
            "<path:object_id>/new-key/",
            self.admin_site.admin_view(self.new_key_view),
            name="customers_organizationapikey_new_key",
        )
        return [reveal, *super().get_urls()]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        key = OrganizationAPIKey.objects.assign_key(obj)
        obj.save()
        # Server-side only (the session's row, not its cookie), until the next page shows it once.
        request.session[self.NEW_KEY_SESSION] = {"pk": obj.pk, "key": key}

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(
            reverse("admin:customers_organizationapikey_new_key", args=[quote(obj.pk)])
        )

    @method_decorator(never_cache)
    def new_key_view(self, request, object_id):
        api_key = self.get_object(request, unquote(object_id))
        if api_key is None or not self.has_view_permission(request, api_key):
            raise Http404
        stored = request.session.get(self.NEW_KEY_SESSION)
        key = None
        if stored and stored.get("pk") == api_key.pk:
            key = stored["key"]
            del request.session[self.NEW_KEY_SESSION]
        context = {
            **self.admin_site.each_context(request),
            "title": self.NEW_KEY_TITLE,
            "opts": self.model._meta,
            "api_key": api_key,
            "key": key,
            "already_shown": self.ALREADY_SHOWN,
            "store_it": self.STORE_IT,
        }
        return TemplateResponse(request, "admin/customers/organizationapikey/new_key.html", context)

    @admin.action(permissions=["change"], description=_("Revoke the selected API keys (cannot be undone)"))
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked=False).update(revoked=True)
        self.message_user(request, KEYS_REVOKED % {"count": revoked})
