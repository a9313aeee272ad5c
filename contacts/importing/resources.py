"""django-import-export resources: the contact column map, wired to the bulk rules.

`ContactImportResource` maps the nine spreadsheet columns (English headers) to contact fields: it
exports contacts in the import template's layout, and its `import_data` runs `plan_rows` /
`apply_plan` on a tablib Dataset instead of import-export's row-by-row saves, returning the usual
`Result` so import-export's admin views and templates can show it.

`BaselineContactResource` is the plain row-by-row ModelResource the benchmark compares against;
nothing else uses it.
"""

from import_export import resources
from import_export.fields import Field
from import_export.results import RowResult
from import_export.widgets import BooleanWidget, ForeignKeyWidget

from contacts.importing.columns import ENGLISH_HEADERS
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
