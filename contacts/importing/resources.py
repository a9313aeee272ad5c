"""The spreadsheet's columns as a django-import-export resource, used for exports only.

`ContactSpreadsheetResource` is the one description of the import template's columns: their order and
English headers (both from `contacts.fields.FIELDS`), where each value lives on a contact, and how it is
written. The templates (`reports.py`) take their columns from it, and its `export` writes contacts in
the layout the importer reads back (the admin's export offers it, and `FrenchContactSpreadsheetResource`,
the same columns under the French headers). Imports never go through it: the admin and the command line run
`contacts.importing.pipeline`, the API's bulk endpoint calls `contacts.services.bulk` directly, and both end
in the same bulk write service.
"""

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.declarative import DeclarativeMetaclass
from import_export.fields import Field
from import_export.widgets import BooleanWidget

from contacts.fields import FIELDS, FRENCH_HEADERS, ContactField

# Where a column's value lives on a Contact, when not in the field of the same name.
ATTRIBUTES = {
    "customer_name": "customer__name",
    "customer_external_id": "customer__external_id",
}
# How a column's value is written, when not as plain text: "1" / "0", as the template's drop-down offers.
WIDGETS = {"is_main": BooleanWidget()}


def _column(field: ContactField) -> Field:
    return Field(
        attribute=ATTRIBUTES.get(field.name, field.name),
        column_name=field.english,
        widget=WIDGETS.get(field.name),
    )


# The fields are made from FIELDS rather than spelled out, so a column declared there is exported and
# templated with no change here. The resource's metaclass collects them from this base class.
_SpreadsheetColumns = DeclarativeMetaclass(
    "_SpreadsheetColumns", (resources.Resource,), {field.name: _column(field) for field in FIELDS}
)


class ContactSpreadsheetResource(_SpreadsheetColumns):
    """Contacts in the import template's layout: `ContactSpreadsheetResource().export(contacts)`."""

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


class FrenchContactSpreadsheetResource(ContactSpreadsheetResource):
    """The same columns under the help article's French headers, which French clients keep."""

    class Meta:
        name = _("French headers")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for name, field in self.fields.items():  # the instance's own copies
            field.column_name = FRENCH_HEADERS[name]
