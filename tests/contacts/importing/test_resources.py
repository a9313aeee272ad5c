"""The spreadsheet resource: contacts exported in the import layout, and read back by the importer."""

import pytest

from contacts.fields import SPREADSHEET_FIELDS
from contacts.importing.columns import map_columns
from contacts.importing.reading import read_table
from contacts.importing.resources import ContactSpreadsheetResource
from contacts.models import Contact
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import HEADERS

pytestmark = pytest.mark.django_db


def two_contacts(org) -> list[Contact]:
    customer = CustomerFactory(organization=org, name="Acme", external_id="AC-1")
    return [
        ContactFactory(
            customer=customer,
            external_id="C-1",
            email="ann@client.example",
            first_name="Ann",
            last_name="Lee",
            phone="+33612345678",
            occupation="SALES",
            is_main=True,
        ),
        ContactFactory(customer=customer, external_id="C-2", email="bob@client.example", first_name="Bob"),
    ]


def test_exporting_contacts_gives_the_import_layout_in_one_query(org, django_assert_num_queries):
    _ann, bob = two_contacts(org)

    with django_assert_num_queries(1):
        exported = ContactSpreadsheetResource().export(Contact.objects.order_by("external_id"))

    assert exported.headers == HEADERS
    assert list(exported) == [
        ("Acme", "AC-1", "C-1", "ann@client.example", "Ann", "Lee", "+33612345678", "SALES", "1"),
        ("Acme", "AC-1", "C-2", "bob@client.example", "Bob", bob.last_name, "", "", "0"),
    ]


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_the_importer_reads_every_field_back_from_an_export(org, format):
    contacts = two_contacts(org)
    exported = ContactSpreadsheetResource().export(Contact.objects.order_by("external_id"))

    data = exported.export(format)
    table = read_table(data.encode() if format == "csv" else data, filename=f"contacts.{format}")

    columns = map_columns(table.headers)
    assert (columns.missing, columns.unknown, columns.duplicated) == ([], [], [])
    assert list(columns.positions) == list(SPREADSHEET_FIELDS)
    read = [
        {name: cells[position] for name, position in columns.positions.items()} for _row, cells in table.rows
    ]
    assert read == [
        {
            "customer_name": "Acme",
            "customer_external_id": "AC-1",
            "external_id": contact.external_id,
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "phone": contact.phone,
            "occupation": contact.occupation,
            "is_main": "1" if contact.is_main else "0",
        }
        for contact in contacts
    ]
