"""No silent no-ops: unknown, empty or repeated query parameters and unknown body fields are 400s."""

import pytest

from contacts.api.names import (
    DID_YOU_MEAN,
    EMPTY_PARAMETER,
    KNOWN_NAMES,
    READ_ONLY_FIELD,
    REPEATED_PARAMETER,
    UNKNOWN_FIELD,
    UNKNOWN_PARAMETER,
    closest,
)
from contacts.models import Contact
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def unknown(template, name: str, hint: str) -> str:
    return f"{template.format(name=name)} {DID_YOU_MEAN.format(name=hint)}"


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("is_main", "isMain"),
        ("IsMain", "isMain"),
        ("customer_external_id", "customerExternalId"),
        ("updated_since", "updatedSince"),
        ("emial", "email"),
        ("firstname", "firstName"),
    ],
)
def test_the_closest_known_name_is_found_whatever_the_case_and_separators(written, meant):
    known = ["email", "externalId", "customerExternalId", "updatedSince", "isMain", "firstName"]

    assert closest(written, known) == meant


def test_a_name_like_none_known_has_no_closest():
    assert closest("ordering", ["email", "externalId"]) is None


@pytest.mark.parametrize(
    ("params", "name", "hint"),
    [
        ({"customer_external_id": "C-1"}, "customer_external_id", "customerExternalId"),
        ({"updated_since": "2026-01-01T00:00:00Z"}, "updated_since", "updatedSince"),
        ({"Email": "a@client.example"}, "Email", "email"),
    ],
)
def test_a_misspelled_filter_is_a_400_naming_it_with_the_name_meant(api, org, params, name, hint):
    ContactFactory(customer=CustomerFactory(organization=org))

    response = api.get("/api/v1/contacts", params)

    assert response.status_code == 400
    assert response.json()["errors"] == {name: [unknown(UNKNOWN_PARAMETER, name, hint)]}


def test_an_unknown_parameter_without_a_close_name_lists_the_known_ones(api, org):
    response = api.get("/api/v1/customers", {"ordering": "name"})

    known = KNOWN_NAMES.format(names="externalId, offset, limit")
    assert response.json()["errors"] == {"ordering": [f"{UNKNOWN_PARAMETER.format(name='ordering')} {known}"]}


@pytest.mark.parametrize("name", ["email", "externalId", "customerExternalId", "updatedSince", "limit"])
def test_an_empty_filter_is_a_400_not_everything(api, org, name):
    ContactFactory(customer=CustomerFactory(organization=org))

    response = api.get(f"/api/v1/contacts?{name}=")

    assert response.status_code == 400
    assert response.json()["errors"] == {name: [EMPTY_PARAMETER]}


def test_a_repeated_filter_is_a_400(api, org):
    response = api.get("/api/v1/contacts?email=a@client.example&email=b@client.example")

    assert response.json()["errors"] == {"email": [REPEATED_PARAMETER.format(count=2)]}


def test_a_write_takes_no_query_parameter(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(
        f"/api/v1/customers/{customer.pk}/contacts?dryRun=1", {"externalId": "K", "email": "k@c.example"}
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["dryRun"]
    assert not Contact.objects.exists()


def test_an_unknown_body_field_is_a_400_and_changes_nothing(api, org):
    contact = ContactFactory(customer=CustomerFactory(organization=org), is_main=False)

    response = api.patch(f"/api/v1/customers/{contact.customer_id}/contacts/{contact.pk}", {"is_main": True})

    assert response.status_code == 400
    assert response.json()["errors"] == {"is_main": [unknown(UNKNOWN_FIELD, "is_main", "isMain")]}
    contact.refresh_from_db()
    assert contact.is_main is False


def test_a_read_only_field_in_a_body_is_a_400_saying_so(api, org):
    customer = CustomerFactory(organization=org)

    response = api.put(
        f"/api/v1/customers/{customer.pk}/contacts/external:K-1", {"email": "k@client.example", "id": 7}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"id": [READ_ONLY_FIELD.format(name="id")]}
    assert not Contact.objects.exists()


def test_an_unknown_field_in_a_bulk_item_is_refused_by_index(api, org):
    customer = CustomerFactory(organization=org)
    item = {"customerExternalId": customer.external_id, "externalId": "K-1", "email": "k@client.example"}

    response = api.post("/api/v1/contacts/bulk", [item, {**item, "externalId": "K-2", "is_main": True}])

    assert response.status_code == 400
    assert response.json()["errors"] == {"1.is_main": [unknown(UNKNOWN_FIELD, "is_main", "isMain")]}
    assert not Contact.objects.exists()
