"""django-import-export resources of contacts.

`ContactImportResource` is the one description of the spreadsheet's columns, export only: their order,
their English headers (from `contacts.fields`), where each value lives on a contact and how it is
written. The import templates follow it, and the admin's export writes contacts with it in the layout
the importer reads back; `FrenchContactImportResource` is the same under the French headers. Imports
never go through it: they run `contacts.importing.pipeline` and the bulk rules.

`BaselineContactResource` is the plain row-by-row ModelResource the benchmark compares against;
nothing else uses it.
"""

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.fields import Field
from import_export.results import RowResult
from import_export.widgets import BooleanWidget, ForeignKeyWidget

from contacts.fields import ENGLISH_HEADERS, FRENCH_HEADERS
from contacts.models import Contact
from customers.models import Customer, Organization

MISSING_COLUMNS = "The file lacks the mandatory column(s) {columns}."
NO_ORGANIZATION = "Choose the organization the contacts belong to."

IMPORT_TYPES = {
    "new": RowResult.IMPORT_TYPE_NEW,
    "updated": RowResult.IMPORT_TYPE_UPDATE,
    "unchanged": RowResult.IMPORT_TYPE_SKIP,
    "invalid": RowResult.IMPORT_TYPE_INVALID,
}
# Where each column's value lives on a Contact, for exports.
ATTRIBUTES = {
    "customer_name": "customer__name",
    "customer_external_id": "customer__external_id",
    "is_main": "is_main",
}


class ContactImportResource(resources.Resource):
    customer_name = Field(attribute=ATTRIBUTES["customer_name"], column_name=ENGLISH_HEADERS["customer_name"])
    customer_external_id = Field(
        attribute=ATTRIBUTES["customer_external_id"], column_name=ENGLISH_HEADERS["customer_external_id"]
    )
    external_id = Field(attribute="external_id", column_name=ENGLISH_HEADERS["external_id"])
    email = Field(attribute="email", column_name=ENGLISH_HEADERS["email"])
    first_name = Field(attribute="first_name", column_name=ENGLISH_HEADERS["first_name"])
    last_name = Field(attribute="last_name", column_name=ENGLISH_HEADERS["last_name"])
    phone = Field(attribute="phone", column_name=ENGLISH_HEADERS["phone"])
    occupation = Field(attribute="occupation", column_name=ENGLISH_HEADERS["occupation"])
    is_main = Field(attribute="is_main", column_name=ENGLISH_HEADERS["is_main"], widget=BooleanWidget())

    class Meta:
        name = _("English headers")

    @classmethod
    def get_display_name(cls) -> str:
        """What the admin's export form calls this choice of headers."""
        return cls._meta.name

    def filter_export(self, queryset, **kwargs):
        queryset = super().filter_export(queryset, **kwargs)
        if isinstance(queryset, QuerySet):
            # Two columns are the customer's: one query for the whole export, not one more per contact.
            queryset = queryset.select_related("customer")
        return queryset


class FrenchContactImportResource(ContactImportResource):
    """The same columns under the help article's French headers, which French clients keep."""

    class Meta:
        name = _("French headers")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for name, field in self.fields.items():  # the instance's own copies
            field.column_name = FRENCH_HEADERS[name]


class _OrganizationCustomerWidget(ForeignKeyWidget):
    def __init__(self, organization: Organization | None):
        super().__init__(Customer, field="external_id")
        self.organization = organization

    def get_queryset(self, value, row, *args, **kwargs):
        return Customer.objects.filter(organization=self.organization)


class BaselineContactResource(resources.ModelResource):
    """The benchmark's baseline: django-import-export's plain row-by-row import of contacts."""

    customer = Field(attribute="customer", column_name=ENGLISH_HEADERS["customer_external_id"])
    external_id = Field(attribute="external_id", column_name=ENGLISH_HEADERS["external_id"])
    email = Field(attribute="email", column_name=ENGLISH_HEADERS["email"])
    first_name = Field(attribute="first_name", column_name=ENGLISH_HEADERS["first_name"])
    last_name = Field(attribute="last_name", column_name=ENGLISH_HEADERS["last_name"])
    phone = Field(attribute="phone", column_name=ENGLISH_HEADERS["phone"])
    occupation = Field(attribute="occupation", column_name=ENGLISH_HEADERS["occupation"])
    is_main = Field(
        attribute="is_main", column_name=ENGLISH_HEADERS["is_main"], widget=BooleanWidget(), default=False
    )

    class Meta:
        model = Contact
        import_id_fields = ["external_id"]
        fields = (
            "customer",
            "external_id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "occupation",
            "is_main",
        )

    def __init__(self, *, organization: Organization | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.organization = organization
        self.fields["customer"].widget = _OrganizationCustomerWidget(organization)

    def before_save_instance(self, instance, row, **kwargs):
        instance.organization = self.organization
