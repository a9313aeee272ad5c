"""Control characters (C0 with tab, CR and LF; DEL; C1) never reach the database, whichever door a value
comes through: the model (admin forms), the import's checks, the API. Names lose them (a line break becomes
a space); identifier codes and emails holding one are refused."""

import pytest
from django.core.exceptions import ValidationError

from contacts.models import Contact
from contacts.normalization import CONTROL_CHARACTERS, IDENTIFIER_UNPRINTABLE, INVALID_EMAIL, shown
from contacts.services.planning import plan_rows
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import bulk_row, client_for

pytestmark = pytest.mark.django_db

HOSTILE_NAMES = [
    ("Jeanne\x01", "Jeanne"),
    ("Ro\x07ux", "Roux"),
    ("Jean\nPierre", "Jean Pierre"),
    ("A\x9bB", "AB"),
]


@pytest.mark.parametrize(("written", "stored"), HOSTILE_NAMES)
def test_the_model_strips_control_characters_from_names(org, written, stored):
    customer = CustomerFactory(organization=org)
    contact = Contact(
        organization=org,
        customer=customer,
        external_id="K-1",
        email="a@b.example",
        first_name=written,
        last_name=written,
    )

    contact.full_clean()

    assert (contact.first_name, contact.last_name) == (stored, stored)


@pytest.mark.parametrize("code", ["K\x01", "K\t1", "K-1\r\n2", "K\x85L"])
def test_the_model_refuses_an_identifier_code_with_a_control_character(org, code):
    customer = CustomerFactory(organization=org)
    contact = Contact(organization=org, customer=customer, external_id=code, email="a@b.example")

    with pytest.raises(ValidationError) as raised:
        contact.full_clean()

    assert raised.value.message_dict["external_id"] == [
        IDENTIFIER_UNPRINTABLE.format(value=shown(code.strip()))
    ]


def test_the_model_refuses_an_email_with_a_control_character(org):
    contact = Contact(
        customer=CustomerFactory(organization=org), external_id="K-1", email='"a\x01b"@b.example'
    )

    with pytest.raises(ValidationError) as raised:
        contact.full_clean()

    assert raised.value.message_dict["email"] == [INVALID_EMAIL.format(value=shown('"a\x01b"@b.example'))]


@pytest.mark.parametrize(("written", "stored"), HOSTILE_NAMES)
def test_the_import_strips_control_characters_from_names(org, written, stored):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[bulk_row(2, customer, "K-1", "a@b.example", last_name=written)])

    assert plan.outcomes[0].values["last_name"] == stored


def test_the_import_refuses_control_characters_in_codes_and_emails(org):
    customer = CustomerFactory(organization=org)
    rows = [
        bulk_row(2, customer, "K\x01", "a@b.example"),
        bulk_row(3, customer, "K-3", '"a\x07"@b.example'),
        bulk_row(4, CustomerFactory.build(external_id="C\x1b"), "K-4", "d@b.example"),
    ]

    plan = plan_rows(organization=org, rows=rows)

    assert [(p.row, p.field) for p in plan.errors] == [
        (2, "external_id"),
        (3, "email"),
        (4, "customer_external_id"),
    ]
    assert plan.errors[2].message == IDENTIFIER_UNPRINTABLE.format(value="C\\x1b")


def test_the_api_strips_control_characters_from_names_when_creating_and_updating(org):
    customer = CustomerFactory(organization=org)
    api = client_for(org)
    url = f"/api/v1/customers/{customer.pk}/contacts"

    created = api.post(
        url, {"externalId": "K-1", "email": "a@b.example", "firstName": "Jeanne\x01"}, format="json"
    )
    contact = Contact.objects.get(external_id="K-1")
    updated = api.patch(f"{url}/{contact.pk}", {"lastName": "Ro\x07ux\nDupont"}, format="json")

    contact.refresh_from_db()
    assert (created.status_code, updated.status_code) == (201, 200)
    assert (contact.first_name, contact.last_name) == ("Jeanne", "Roux Dupont")


def test_the_api_refuses_an_identifier_code_with_a_control_character_naming_the_field(org):
    customer = CustomerFactory(organization=org)

    response = client_for(org).post(
        f"/api/v1/customers/{customer.pk}/contacts",
        {"externalId": "K\x011", "email": "a@b.example"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"]["externalId"] == [IDENTIFIER_UNPRINTABLE.format(value="K\\x011")]
    assert not Contact.objects.exists()


def test_the_bulk_api_strips_control_characters_from_names(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="K-1", email="a@b.example")
    item = {
        "customerExternalId": customer.external_id,
        "externalId": "K-1",
        "email": "a@b.example",
        "firstName": "\x01Camille\x07",
    }

    response = client_for(org).post("/api/v1/contacts/bulk", [item], format="json")

    assert response.status_code == 200
    assert not any(CONTROL_CHARACTERS.search(c.first_name) for c in Contact.objects.all())
    assert Contact.objects.get().first_name == "Camille"
