import urllib.parse

import pytest

from contacts.api.lookups import CUSTOMER_NOT_FOUND
from contacts.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_customers_are_listed_with_their_total(api, org):
    customers = CustomerFactory.create_batch(3, organization=org)

    body = api.get("/api/v1/customers").json()

    assert body["total"] == 3
    assert (body["offset"], body["limit"]) == (0, DEFAULT_LIMIT)
    assert [c["id"] for c in body["results"]] == [c.pk for c in customers]
    first = body["results"][0]
    assert first["externalId"] == customers[0].external_id
    assert first["name"] == customers[0].name
    assert set(first) == {"id", "externalId", "name", "createdAt", "updatedAt"}
    assert first["createdAt"].endswith("Z")


def test_customers_are_paginated_by_offset_and_limit(api, org):
    customers = CustomerFactory.create_batch(5, organization=org)

    body = api.get("/api/v1/customers", {"offset": 2, "limit": 2}).json()

    assert body["total"] == 5
    assert [c["id"] for c in body["results"]] == [customers[2].pk, customers[3].pk]


@pytest.mark.parametrize("limit", [MAX_LIMIT + 1, 0, -1, "many"])
def test_a_limit_out_of_range_is_a_400(api, org, limit):
    response = api.get("/api/v1/customers", {"limit": limit})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["limit"]


def test_the_largest_limit_is_accepted(api, org):
    CustomerFactory(organization=org)

    response = api.get("/api/v1/customers", {"limit": MAX_LIMIT})

    assert (response.status_code, response.json()["limit"]) == (200, MAX_LIMIT)


def test_customers_are_filtered_by_external_id(api, org):
    CustomerFactory(organization=org)
    wanted = CustomerFactory(organization=org, external_id="C/42 é")

    body = api.get("/api/v1/customers", {"externalId": "C/42 é"}).json()

    assert body["total"] == 1
    assert body["results"][0]["id"] == wanted.pk


def test_a_customer_is_found_by_internal_id(api, org):
    customer = CustomerFactory(organization=org)

    response = api.get(f"/api/v1/customers/{customer.pk}")

    assert (response.status_code, response.json()["externalId"]) == (200, customer.external_id)


@pytest.mark.parametrize("external_id", ["CUST-1", "a b", "50%", "x?y#z", "é&ü", "external:twice"])
def test_a_customer_is_found_by_external_id_percent_encoded(api, org, external_id):
    customer = CustomerFactory(organization=org, external_id=external_id)

    response = api.get(f"/api/v1/customers/external:{urllib.parse.quote(external_id, safe='')}")

    assert (response.status_code, response.json()["id"]) == (200, customer.pk)


@pytest.mark.parametrize(
    ("ref", "described"),
    [
        ("999999", 'with the id "999999"'),
        ("external:NOPE", 'with the external id "NOPE"'),
        ("99999999999999999999999", 'with the id "99999999999999999999999"'),
        ("abc", 'with the id "abc"'),
        ("external:", 'with the external id ""'),
        ("external:%00", 'with the external id "\x00"'),
    ],
)
def test_an_unknown_customer_is_a_404_with_a_json_message(api, org, ref, described):
    CustomerFactory(organization=org)

    response = api.get(f"/api/v1/customers/{ref}")

    assert response.status_code == 404
    assert response.json() == {"message": CUSTOMER_NOT_FOUND.format(ref=described), "errors": {}}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_customers_are_read_only(api, org, method):
    customer = CustomerFactory(organization=org)

    listing = getattr(api, method)("/api/v1/customers", {}, format="json")
    detail = getattr(api, method)(f"/api/v1/customers/{customer.pk}", {"name": "Changed"}, format="json")

    assert (listing.status_code, detail.status_code) == (405, 405)
    assert set(detail.json()) == {"message", "errors"}
    customer.refresh_from_db()
    assert customer.name != "Changed"
