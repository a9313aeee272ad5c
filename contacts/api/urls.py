from django.urls import path, register_converter

from contacts.api import bulk, changes, contacts, customers
from contacts.api.lookups import RefConverter

register_converter(RefConverter, "ref")

app_name = "api"
urlpatterns = [
    path("customers", customers.CustomerList.as_view(), name="customers"),
    path("customers/<ref:id>", customers.CustomerDetail.as_view(), name="customer"),
    path("customers/<ref:id>/contacts", contacts.CustomerContacts.as_view(), name="customer-contacts"),
    path(
        "customers/<ref:id>/contacts/<ref:contactId>",
        contacts.CustomerContactDetail.as_view(),
        name="customer-contact",
    ),
    path("contacts", contacts.ContactList.as_view(), name="contacts"),
    path("contacts/bulk", bulk.ContactBulk.as_view(), name="contacts-bulk"),
    path("contacts/changes", changes.ContactChanges.as_view(), name="contacts-changes"),
]
