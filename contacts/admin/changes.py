"""The change log in the admin: the "Changes" list, and how an entry reads wherever it is shown (a
contact's History, an import's page, the undo's preview).

Read-only: entries are written by the services only. The list fits a 1366 px screen with the admin's
sidebar open: short columns, the changed fields wrapped in one column (contacts/admin-changes.css).
"""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact, ContactChange
from contacts.services.changelog import LOGGED_FIELDS
from contacts.services.values import yes_no

ERASED = _("(erased)")
BLANK = _("(blank)")
BATCH_NAME = _("import #%(batch)s")  # an import, as the change log and the import's page name it
# One changed field, as a line of the change log (French puts a no-break space before the colon).
FIELD_CHANGED = _("{field}: {before} → {after}")
FIELD_SET = _("{field}: {value}")
SHOWN_FIELDS = tuple(name for name in LOGGED_FIELDS if name != "source")  # the channel says it
CHOICES = {"occupation": dict(Contact.Occupation.choices), "source": dict(Contact.Source.choices)}


def field_label(name: str) -> str:
    return str(Contact._meta.get_field(name).verbose_name)


def shown_value(name: str, value) -> str:
    """A logged value as people read it: yes/no, choice labels, "(blank)", "(erased)"."""
    if value is None:
        return str(ERASED)
    if isinstance(value, bool):
        return yes_no(value)
    if value == "":
        return str(BLANK)
    return str(CHOICES.get(name, {}).get(value, value))


def change_lines(before: dict | None, after: dict | None) -> list[str]:
    """`email: old → new` per changed field, in the model's order (`source` left out)."""
    before, after = before or {}, after or {}
    lines = []
    for name in SHOWN_FIELDS:
        if name in before and name in after:
            old, new = shown_value(name, before[name]), shown_value(name, after[name])
            lines.append(FIELD_CHANGED.format(field=field_label(name), before=old, after=new))
        elif name in after:
            lines.append(FIELD_SET.format(field=field_label(name), value=shown_value(name, after[name])))
        elif name in before:
            old = shown_value(name, before[name])
            lines.append(FIELD_CHANGED.format(field=field_label(name), before=old, after="—"))
    return lines


def change_list_html(entry: ContactChange):
    lines = change_lines(entry.before, entry.after)
    if not lines:
        return "—"
    return format_html(
        '<ul class="change-fields">{}</ul>', format_html_join("", "<li>{}</li>", ((line,) for line in lines))
    )


def when(entry: ContactChange) -> str:
    return f"{timezone.localtime(entry.at):%Y-%m-%d %H:%M}"


def who(entry: ContactChange) -> str:
    return entry.actor or "—"


def history_url(contact_id: int) -> str:
    """A contact's History page: it answers for a deleted contact too, from the log."""
    return reverse("admin:contacts_contact_history", args=[contact_id])


def batch_link(entry: ContactChange):
    if entry.batch_id is None:
        return "—"
    url = reverse("admin:contacts_importbatch_change", args=[entry.batch_id])
    return format_html('<a href="{}">{}</a>', url, BATCH_NAME % {"batch": entry.batch_id})


class StaffUserFilter(admin.RelatedFieldListFilter):
    """The staff users, read from the users' table. The log's own distinct users
    (RelatedOnlyFieldListFilter) cost a scan of the whole log at every page of the list."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to={"is_staff": True})


@admin.register(ContactChange)
class ContactChangeAdmin(admin.ModelAdmin):
    list_display = ("when", "contact_link", "action", "changed_fields", "channel", "who", "import_link")
    list_display_links = None
    list_filter = (
        "organization",
        "channel",
        "action",
        ("user", StaffUserFilter),
        ("at", admin.DateFieldListFilter),
    )
    # Shows the search box; get_search_results searches.
    search_fields = ("^external_id", "after__email", "before__email")
    search_help_text = _("The start of an identifier code, or part of an email address.")
    list_select_related = ("organization",)
    list_per_page = 50
    show_full_result_count = False
    ordering = ("-pk",)

    class Media:
        css = {"all": ["contacts/admin-changes.css"]}

    def get_search_results(self, request, queryset, search_term):
        """The start of an identifier code, or part of an email: then every entry of the contacts that had
        that email (an update records only the fields it changed), a deleted contact's too."""
        term = search_term.strip()
        if not term:
            return queryset, False
        recorded = Q(after__email__icontains=term) | Q(before__email__icontains=term)
        had_it = ContactChange.objects.filter(recorded, contact_id__isnull=False).values("contact_id")
        return queryset.filter(Q(external_id__istartswith=term) | recorded | Q(contact_id__in=had_it)), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("when"), ordering="pk")
    def when(self, entry: ContactChange) -> str:
        return when(entry)

    @admin.display(description=_("contact"), ordering="external_id")
    def contact_link(self, entry: ContactChange):
        if entry.contact_id is None:
            return entry.external_id
        return format_html('<a href="{}">{}</a>', history_url(entry.contact_id), entry.external_id)

    @admin.display(description=_("changes"))
    def changed_fields(self, entry: ContactChange):
        return change_list_html(entry)

    @admin.display(description=_("who"), ordering="actor")
    def who(self, entry: ContactChange) -> str:
        return who(entry)

    @admin.display(description=_("import"))
    def import_link(self, entry: ContactChange):
        return batch_link(entry)
