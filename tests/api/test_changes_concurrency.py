"""The changes feed under concurrent writers, on PostgreSQL: a client that polls it while single writes,
bulk calls, an import and an undo of the same organization commit in any order ends up with a copy equal
to the database. `updatedSince` lost a concurrent bulk call's rows for good (issue 11); a cursor on an
autoincrement id would lose a transaction that took its id early and committed late.
"""

import random
import threading
import time

import pytest
from django.db import connection

from contacts.importing.pipeline import commit_import
from contacts.models import Contact, ImportBatch
from contacts.services import bulk
from contacts.services.contacts import contact_create
from contacts.services.undo import import_undo
from tests.factories import CustomerFactory, OrganizationFactory
from tests.helpers import (
    actor,
    client_for,
    contact_row,
    contacts_as_mirrored,
    csv_bytes,
    follow_feed,
    postgresql_only,
)

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]

ROUNDS = 12


def in_thread(target, errors: list) -> threading.Thread:
    def run():
        try:
            target()
        except BaseException as error:  # surfaced by the test's assertion
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def single_writer(org, customer, seed: int):
    """PUTs, PATCHes and DELETEs of one customer's contacts, main contact changes included."""
    api, rng = client_for(org), random.Random(seed)
    base = f"/api/v1/customers/{customer.pk}/contacts"

    def write():
        for n in range(ROUNDS):
            code = f"S{seed}-{rng.randint(0, 4)}"
            kind = rng.choice(["put", "put", "main", "delete"])
            if kind == "delete":
                api.delete(f"{base}/external:{code}")
            elif kind == "main":
                api.put(f"{base}/external:{code}", {"email": f"{code}@b.example", "isMain": True})
            else:
                api.put(f"{base}/external:{code}", {"email": f"{code}@b.example", "lastName": f"N{n}"})

    return write


def bulk_writer(org, customers, seed: int):
    """Bulk calls of 200 items, each held a moment after it wrote, before it commits."""
    api = client_for(org)

    def write():
        for n in range(3):
            items = [
                {
                    "customerExternalId": customers[i % len(customers)].external_id,
                    "externalId": f"B{seed}-{i}",
                    "email": f"b{seed}.{i}@b.example",
                    "lastName": f"Round {n}",
                }
                for i in range(200)
            ]
            response = api.post("/api/v1/contacts/bulk", items)
            assert response.status_code == 200, response.content

    return write


def import_and_undo(org, customers):
    def write():
        rows = [
            contact_row(c, f"I-{i}", f"i{i}@b.example", is_main="1" if i < 3 else "")
            for i, c in enumerate(customers)
        ]
        batch = commit_import(organization=org, data=csv_bytes(rows), filename="c.csv").batch
        time.sleep(0.2)
        import_undo(organization=org, batch_id=batch.pk, actor=actor("undo"))

    return write


def test_a_client_polling_the_feed_during_concurrent_writes_mirrors_the_database(settings, monkeypatch):
    settings.API_THROTTLE_RATE = "1000000/min"
    settings.CONTACT_IMPORTS_PER_MONTH = 100
    org = OrganizationFactory()
    customers = CustomerFactory.create_batch(6, organization=org)
    for n, customer in enumerate(customers):
        contact_create(
            organization=org,
            customer=customer,
            external_id=f"M-{n}",
            email=f"m{n}@b.example",
            is_main=True,
            actor=actor(),
        )
    reader = client_for(org)
    mirror: dict = {}
    cursor = follow_feed(reader, mirror)
    # Each bulk write stays open a moment after writing its contacts: single writes commit meanwhile.
    original = bulk.apply_plan

    def slow_apply(plan, **kwargs):
        written = original(plan, **kwargs)
        time.sleep(0.05)
        return written

    monkeypatch.setattr(bulk, "apply_plan", slow_apply)
    errors: list = []
    writers = [
        *(in_thread(single_writer(org, customers[i], seed=i), errors) for i in range(4)),
        *(in_thread(bulk_writer(org, customers, seed=s), errors) for s in range(2)),
        in_thread(import_and_undo(org, customers), errors),
    ]
    polls = 0
    while any(thread.is_alive() for thread in writers):
        cursor = follow_feed(reader, mirror, cursor)
        polls += 1
    for thread in writers:
        thread.join(120)
    follow_feed(reader, mirror, cursor)

    assert errors == []
    assert polls > 3
    assert ImportBatch.objects.get().status == "undone"
    assert Contact.objects.filter(organization=org).count() > 400
    assert mirror == contacts_as_mirrored(org)
