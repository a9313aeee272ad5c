"""The contacts export, for a round trip: a client's current contacts in the import's layout (CSV or
XLSX, English or French headers) to correct and send back, one organization at a time.

It is django-import-export's export (its view, form and "Export selected contacts" action) with the
project's resource (contacts.importing.resources); the files are written by contacts.importing.reports,
like the import templates, so the XLSX has the template's drop-down lists and no cell runs as a formula.
"""

from django.contrib import messages
from django.db.models import QuerySet
from django.forms import MultipleChoiceField, MultipleHiddenInput
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext_lazy
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportActionMixin
from import_export.formats import base_formats
from import_export.forms import ExportForm

from contacts.admin.imports import can_import
from contacts.fields import ENGLISH_HEADERS, FRENCH_HEADERS
from contacts.importing import reports
from contacts.importing.resources import ContactSpreadsheetResource, FrenchContactSpreadsheetResource
from customers.models import Organization

SEVERAL_ORGANIZATIONS = ngettext_lazy(
    # Never fewer than two; the singular is there for languages whose plural forms need it.
    "These contacts belong to %(count)d organization (%(names)s). An export holds the contacts of one "
    "organization, as an import does: filter the list by organization, or select contacts of one "
    "organization only, then export.",
    "These contacts belong to %(count)d organizations (%(names)s). An export holds the contacts of one "
    "organization, as an import does: filter the list by organization, or select contacts of one "
    "organization only, then export.",
    "count",
)
# Either language's headers, back to the field: the workbook puts its drop-down lists by field.
FIELD_OF_HEADER = {
    header: name for headers in (ENGLISH_HEADERS, FRENCH_HEADERS) for name, header in headers.items()
}


class SpreadsheetCSV(base_formats.CSV):
    """CSV as the import template is written: UTF-8 with a BOM, formula-like cells neutralised."""

    def get_title(self) -> str:
        return "CSV"

    def get_content_type(self) -> str:
        return reports.CSV_CONTENT_TYPE

    def is_binary(self) -> bool:
        return True  # written as bytes, BOM included

    def export_data(self, dataset, **kwargs) -> bytes:
        return reports.contacts_csv(dataset.headers, dataset)


class SpreadsheetXLSX(base_formats.XLSX):
    """XLSX as the import template is written: the same drop-down lists, every cell text."""

    def get_title(self) -> str:
        return "XLSX"

    def export_data(self, dataset, **kwargs) -> bytes:
        columns = [(FIELD_OF_HEADER[header], header) for header in dataset.headers]
        return reports.contacts_xlsx(columns, dataset)


class ContactExportForm(ExportForm):
    """The export's choices in the agent's words: the headers' language and the file's format."""

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.fields["resource"].label = _("Headers")
        self.fields["resource"].initial = "1" if (get_language() or "").startswith("fr") else "0"
        self.fields["format"].label = _("Format")
        self.fields["format"].initial = "1"  # XLSX: the drop-down lists come with it


def organization_names(queryset: QuerySet) -> list[str]:
    """The names of the organizations the contacts of `queryset` belong to, in one query."""
    ids = queryset.order_by().values("organization_id")
    return list(Organization.objects.filter(pk__in=ids).order_by("name").values_list("name", flat=True))


def selected_pks(values: list[str]) -> list[int]:
    """The contact ids a posted selection holds; anything else in it is dropped."""
    return [int(value) for value in values if str(value).isdigit()]


def several_organizations(names: list[str]) -> str:
    return SEVERAL_ORGANIZATIONS % {"count": len(names), "names": ", ".join(names)}


class ContactExportMixin(ExportActionMixin):
    """The export of ContactAdmin: the list's "Export contacts" tool (the current filter), the
    "Export selected contacts" action and the organization page's link all lead to its form."""

    resource_classes = [ContactSpreadsheetResource, FrenchContactSpreadsheetResource]
    export_form_class = ContactExportForm
    export_template_name = "admin/contacts/contact/export.html"
    # The list's own template (admin/contacts/contact/change_list.html) has the Export link.
    import_export_change_list_template = None
    show_change_form_export = False

    @property
    def export_formats(self):
        return [SpreadsheetCSV, SpreadsheetXLSX]

    def has_export_permission(self, request) -> bool:
        # Exporting is the first half of an import's round trip: staff allowed to import.
        return can_import(request)

    def export_admin_action(self, request, queryset):
        """The export form for the selected contacts (the library's own renders its template by a
        fixed name, without this page's summary of what is exported)."""
        names = organization_names(queryset)
        if len(names) > 1:
            self.message_user(request, several_organizations(names), messages.ERROR)
            return None
        form_class = self.get_export_form_class()
        options = {
            "formats": self.get_export_formats(),
            "resources": self.get_export_resource_classes(request),
        }
        if request.POST.get("select_across") == "1":
            # "Select all N contacts": the export runs on the list's filter (in the form's URL). Their ids
            # would be a field each, past DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) and the database's limit
            # on query parameters.
            form = form_class(**options)
        else:
            pks = list(queryset.values_list("pk", flat=True))
            form = form_class(**options, initial={"export_items": pks})
            form.fields["export_items"] = MultipleChoiceField(
                widget=MultipleHiddenInput, required=False, choices=[(pk, pk) for pk in pks]
            )
        context = self.init_request_context_data(request, form)
        context["export_url"] = reverse("admin:contacts_contact_export")
        if request.GET:
            context["export_url"] += f"?{request.GET.urlencode()}"
        return TemplateResponse(request, self.export_template_name, context)

    def export_action(self, request):
        if request.method == "GET" and self.has_export_permission(request):
            names = organization_names(self.get_export_queryset(request))
            if len(names) > 1:
                messages.error(request, several_organizations(names))
                changelist = reverse("admin:contacts_contact_changelist")
                return HttpResponseRedirect(f"{changelist}?{request.GET.urlencode()}")
        return super().export_action(request)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        names = organization_names(queryset)
        if len(names) > 1:
            # export_action shows a ValueError's text on the form.
            raise ValueError(several_organizations(names))
        return super().get_export_data(file_format, request, queryset, **kwargs)

    def get_valid_export_item_pks(self, request):
        """The selected contacts that the list's current filter holds (the library's default lists
        every contact of every organization, and warns that it is deprecated)."""
        selected = selected_pks(request.POST.getlist("export_items"))
        return list(self.get_export_queryset(request).filter(pk__in=selected).values_list("pk", flat=True))

    def get_export_filename(self, request, queryset, file_format) -> str:
        slug = queryset.order_by().values_list("organization__slug", flat=True).first() or "contacts"
        return f"{slug}-contacts-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"

    def init_request_context_data(self, request, form):
        context = super().init_request_context_data(request, form)
        context["title"] = _("Export contacts")
        queryset = self.get_export_queryset(request)
        selected = form.initial.get("export_items") or selected_pks(form.data.getlist("export_items", []))
        if selected:
            queryset = queryset.filter(pk__in=selected)
        names = organization_names(queryset)
        context["export_organization"] = names[0] if len(names) == 1 else ""
        context["export_count"] = queryset.count()
        return context
