"""A key sees its own organization only: another organization's objects answer 404, lists never leak."""

import pytest

from contacts.models import Contact
from contacts.services.checks import CUSTOMER_UNKNOWN
from customers.models import Customer
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

WRITE_BODY = {"externalId": "NEW-1", "email": "new@client.example", "isMain": True}


@pytest.fixture
def theirs(org):
    """A customer and its main contact in `org`, the organization whose data must not leak."""
    customer = CustomerFactory(organization=org, external_id="SHARED-CODE")
    return customer, ContactFactory(customer=customer, external_id="THEIR-CONTACT", is_main=True)


@pytest.fixture
def intruder(other_org):
    CustomerFactory(organization=other_org, external_id="MINE")
    return client_for(other_org)


def snapshot() -> tuple[list, list]:
    return (
        list(Contact.objects.order_by("pk").values_list()),
        list(Customer.objects.order_by("pk").values_list()),
    )


ROUTES = [
    ("get", "/api/v1/customers/{customer.pk}"),
    ("get", "/api/v1/customers/external:{customer.external_id}"),
    ("get", "/api/v1/customers/{customer.pk}/contacts"),
    ("post", "/api/v1/customers/{customer.pk}/contacts"),
    ("get", "/api/v1/customers/{customer.pk}/contacts/{contact.pk}"),
    ("get", "/api/v1/customers/external:{customer.external_id}/contacts/external:{contact.external_id}"),
    ("patch", "/api/v1/customers/{customer.pk}/contacts/{contact.pk}"),
    ("put", "/api/v1/customers/{customer.pk}/contacts/{contact.pk}"),
    ("put", "/api/v1/customers/{customer.pk}/contacts/external:{contact.external_id}"),
    ("put", "/api/v1/customers/{customer.pk}/contacts/external:BRAND-NEW"),
    ("delete", "/api/v1/customers/{customer.pk}/contacts/{contact.pk}"),
    ("delete", "/api/v1/customers/external:{customer.external_id}/contacts/external:{contact.external_id}"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_another_organizations_objects_are_404(theirs, intruder, other_org, method, route):
    customer, contact = theirs
    before = snapshot()

    body = WRITE_BODY if method != "get" else None
    response = getattr(intruder, method)(route.format(customer=customer, contact=contact), body)

    assert response.status_code == 404
    assert set(response.json()) == {"message", "errors"}
    assert customer.name not in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_another_organizations_contact_under_ones_own_customer_is_404(theirs, intruder, other_org, method):
    _customer, contact = theirs
    own = Customer.objects.get(organization=other_org)
    before = snapshot()

    body = WRITE_BODY if method != "get" else None
    response = getattr(intruder, method)(f"/api/v1/customers/{own.pk}/contacts/{contact.pk}", body)

    assert response.status_code == 404
    assert snapshot() == before


def test_lists_show_only_ones_own_organization(theirs, intruder, other_org):
    customer, contact = theirs
    own_contact = ContactFactory(customer=Customer.objects.get(organization=other_org))

    customers = intruder.get("/api/v1/customers").json()
    contacts = intruder.get("/api/v1/contacts").json()
    filtered = [
        intruder.get("/api/v1/customers", {"externalId": customer.external_id}).json(),
        intruder.get("/api/v1/contacts", {"email": contact.email}).json(),
        intruder.get("/api/v1/contacts", {"customerExternalId": customer.external_id}).json(),
        intruder.get("/api/v1/contacts", {"externalId": contact.external_id}).json(),
    ]

    assert [c["externalId"] for c in customers["results"]] == ["MINE"]
    assert customers["total"] == 1
    assert [c["id"] for c in contacts["results"]] == [own_contact.pk]
    assert contacts["total"] == 1
    assert [page["total"] for page in filtered] == [0, 0, 0, 0]


def test_the_same_codes_in_two_organizations_stay_apart(theirs, intruder, other_org):
    customer, contact = theirs
    own = CustomerFactory(organization=other_org, external_id=customer.external_id)
    before = snapshot()

    response = intruder.put(
        f"/api/v1/customers/external:{customer.external_id}/contacts/external:{contact.external_id}",
        {"email": "mine@client.example", "isMain": True},
    )

    assert response.status_code == 201
    created = Contact.objects.get(pk=response.json()["id"])
    assert (created.organization, created.customer) == (other_org, own)
    contact.refresh_from_db()
    assert contact.is_main is True
    assert snapshot()[0][: len(before[0])] == before[0]


def test_bulk_cannot_reach_another_organizations_customer(theirs, intruder, other_org):
    customer, contact = theirs
    before = snapshot()

    response = intruder.post(
        "/api/v1/contacts/bulk",
        [
            {
                "customerExternalId": customer.external_id,
                "externalId": contact.external_id,
                "email": "x@y.example",
            }
        ],
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "0.customerExternalId": [
            CUSTOMER_UNKNOWN.format(organization=other_org.name, value=customer.external_id)
        ]
    }
    assert snapshot() == before
