from django.urls import path, register_converter

from contacts.api import bulk, views
from contacts.api.lookups import RefConverter

register_converter(RefConverter, "ref")

app_name = "api"
urlpatterns = [
    path("customers", views.CustomerList.as_view(), name="customers"),
    path("customers/<ref:id>", views.CustomerDetail.as_view(), name="customer"),
    path("customers/<ref:id>/contacts", views.CustomerContacts.as_view(), name="customer-contacts"),
    path(
        "customers/<ref:id>/contacts/<ref:contactId>",
        views.CustomerContactDetail.as_view(),
        name="customer-contact",
    ),
    path("contacts", views.ContactList.as_view(), name="contacts"),
    path("contacts/bulk", bulk.ContactBulk.as_view(), name="contacts-bulk"),
]
