"""The benchmark's baseline: django-import-export's plain row-by-row import of contacts.

A `ModelResource` as its documentation writes one: the customer looked up per row by its external
identification code, contacts matched on `external_id`, each saved on its own. `import_bench.py`
compares the bulk pipeline with it; nothing in the application uses it.
"""

from import_export import resources
from import_export.fields import Field
from import_export.widgets import BooleanWidget, ForeignKeyWidget

from contacts.fields import ENGLISH_HEADERS
from contacts.models import Contact
from customers.models import Customer, Organization


class _OrganizationCustomerWidget(ForeignKeyWidget):
    def __init__(self, organization: Organization | None):
        super().__init__(Customer, field="external_id")
        self.organization = organization

    def get_queryset(self, value, row, *args, **kwargs):
        return Customer.objects.filter(organization=self.organization)


class BaselineContactResource(resources.ModelResource):
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
