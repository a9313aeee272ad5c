"""Main-contact changes from concurrent API writers: never two mains per customer, never a 500."""

import random
import threading

import pytest
from django.db import connection

from contacts.models import Contact
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import client_for, postgresql_only

WRITERS = 12
REQUESTS_PER_WRITER = 8


def _arrange(contacts_per_customer: int = 4):
    org = OrganizationFactory()
    customers = CustomerFactory.create_batch(2, organization=org)
    contacts = [
        ContactFactory(customer=customer, is_main=(index == 0))
        for customer in customers
        for index in range(contacts_per_customer)
    ]
    return org, customers, contacts


def _request(api, contact: Contact, kind: str):
    url = f"/api/v1/customers/{contact.customer_id}/contacts/{contact.pk}"
    if kind == "promote":
        return api.patch(url, {"isMain": True})
    if kind == "rename":
        # A full-row save of a contact read before another request promoted its neighbour.
        return api.patch(url, {"firstName": f"Name {random.randint(0, 10**6)}"})
    if kind == "upsert":
        return api.put(
            f"/api/v1/customers/{contact.customer_id}/contacts/external:{contact.external_id}",
            {"email": contact.email, "isMain": True},
        )
    bulk_item = {
        "customerExternalId": contact.customer.external_id,
        "externalId": contact.external_id,
        "isMain": True,
    }
    return api.post("/api/v1/contacts/bulk", [bulk_item])


def _assert_one_main_each(customers) -> None:
    for customer in customers:
        assert Contact.objects.filter(customer=customer, is_main=True).count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_main_contact_changes_never_leave_two_mains_nor_a_500(settings):
    settings.API_THROTTLE_RATE = "100000/min"
    org, customers, contacts = _arrange()
    key_clients = [client_for(org) for _ in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    statuses: list[int] = []
    bodies: list[dict] = []
    failures: list[BaseException] = []

    def writer(api, seed: int) -> None:
        rng = random.Random(seed)
        try:
            barrier.wait()
            for _ in range(REQUESTS_PER_WRITER):
                contact = rng.choice(contacts)
                kind = rng.choice(["promote", "promote", "rename", "upsert", "bulk"])
                response = _request(api, contact, kind)
                statuses.append(response.status_code)
                if response.status_code != 200:
                    bodies.append(response.json())
        except BaseException as error:  # surfaced by the assertion below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(api, seed)) for seed, api in enumerate(key_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(statuses) == WRITERS * REQUESTS_PER_WRITER
    assert set(statuses) <= {200, 409}, bodies
    assert statuses.count(200) > 0
    assert all(body["message"] for body in bodies)
    _assert_one_main_each(customers)


@pytest.mark.django_db
def test_sequential_main_contact_changes_keep_exactly_one_main():
    org, customers, contacts = _arrange()
    api = client_for(org)
    rng = random.Random(7)

    for _ in range(40):
        contact = rng.choice(contacts)
        kind = rng.choice(["promote", "rename", "upsert", "bulk"])
        response = _request(api, contact, kind)
        assert response.status_code == 200, response.json()
        _assert_one_main_each(customers)
        if kind != "rename":
            assert Contact.objects.get(pk=contact.pk).is_main is True


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_identical_concurrent_puts_create_one_contact_and_the_others_change_nothing(settings):
    settings.API_THROTTLE_RATE = "100000/min"
    org = OrganizationFactory()
    customer = CustomerFactory(organization=org)
    clients = [client_for(org) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def put(api) -> None:
        try:
            barrier.wait()
            response = api.put(
                f"/api/v1/customers/{customer.pk}/contacts/external:K-1",
                {"email": "ann@client.example", "isMain": True},
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=put, args=(api,)) for api in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * 7 + [201]
    assert Contact.objects.filter(organization=org).count() == 1
    _assert_one_main_each([customer])
