"""Writers of many contacts against writers of one, on PostgreSQL: no deadlock, no 500, no lost update.

Each test holds a bulk write (a file import or a bulk API call) at a chosen point inside its
transaction while single-contact writes (API PUT/PATCH, an admin save) of the same customers run, then
lets it finish. Before the lock order of contacts.locks, these ended in "deadlock detected" (an import
against a PATCH, 4 runs of 4), a 500 (a bulk call against a PUT, 14 tries of 14), or an acknowledged
PATCH overwritten by the bulk call's stale values (4 tries of 5).
"""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from contacts.importing.pipeline import commit_import
from contacts.models import Contact
from contacts.services import bulk
from contacts.services.bulk import contacts_bulk_upsert
from contacts.services.contacts import contact_update
from customers.models import Customer
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import actor, bulk_row, client_for, contact_row, csv_bytes, postgresql_only

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]

HOLD = 1.0  # seconds the bulk write stays inside its transaction while the single writes start


class Held:
    """Wraps bulk.apply_plan: once the bulk write has written (before it commits), it signals and waits."""

    def __init__(self, monkeypatch, *, before_writing: bool = False):
        self.reached = threading.Event()
        self.original = bulk.apply_plan
        self.before_writing = before_writing
        self.released_at = 0.0
        monkeypatch.setattr(bulk, "apply_plan", self)

    def __call__(self, plan, **kwargs):
        if self.before_writing:
            self._hold()
        written = self.original(plan, **kwargs)
        if not self.before_writing:
            self._hold()
        return written

    def _hold(self) -> None:
        self.reached.set()
        time.sleep(HOLD)
        self.released_at = time.monotonic()


def in_thread(target, results: list, name: str) -> threading.Thread:
    def run():
        try:
            results.append((name, target(), time.monotonic()))
        except BaseException as error:  # surfaced by the assertions
            results.append((name, error, time.monotonic()))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def admin_client():
    client = Client()
    client.force_login(UserFactory(is_superuser=True))
    return client


def one_main_each(customers) -> bool:
    return all(Contact.objects.filter(customer=c, is_main=True).count() <= 1 for c in customers)


def test_an_import_and_single_writes_of_its_customers_all_succeed_and_keep_their_writes(
    monkeypatch, settings
):
    settings.API_THROTTLE_RATE = "100000/min"
    org = OrganizationFactory()
    customers = CustomerFactory.create_batch(20, organization=org)
    stored = [ContactFactory(customer=c, is_main=True) for c in customers]
    rows = [
        contact_row(c, f"NEW-{i}-{n}", f"new{i}.{n}@b.example")
        for i, c in enumerate(customers)
        for n in range(50)
    ]
    data = csv_bytes(rows)
    api, admin = client_for(org), admin_client()
    target = stored[3]
    held = Held(monkeypatch)
    results: list = []

    importing = in_thread(
        lambda: commit_import(organization=org, data=data, filename="c.csv"), results, "import"
    )
    assert held.reached.wait(30)
    contact_url = f"/api/v1/customers/{target.customer_id}/contacts/{target.pk}"
    writers = [
        in_thread(lambda: api.patch(contact_url, {"phone": "06 11 22 33 44"}), results, "patch phone"),
        in_thread(
            lambda: api.patch(
                f"/api/v1/customers/{stored[5].customer_id}/contacts/{stored[5].pk}",
                {"isMain": True, "lastName": "Patched"},
            ),
            results,
            "patch main",
        ),
        in_thread(
            lambda: api.put(
                f"/api/v1/customers/{customers[7].pk}/contacts/external:PUT-1",
                {"email": "put@b.example", "isMain": True},
            ),
            results,
            "put",
        ),
        in_thread(
            lambda: admin.post(
                reverse("admin:contacts_contact_change", args=[stored[9].pk]),
                {
                    "external_id": stored[9].external_id,
                    "email": stored[9].email,
                    "first_name": "Admin",
                    "last_name": "Saved",
                    "phone": "",
                    "occupation": "",
                    "is_main": "on",
                },
            ),
            results,
            "admin save",
        ),
    ]
    for thread in [importing, *writers]:
        thread.join(60)

    outcome = {name: value for name, value, _at in results}
    assert not isinstance(outcome["import"], BaseException), outcome["import"]
    assert outcome["import"].committed
    assert outcome["patch phone"].status_code == 200, outcome["patch phone"].content
    assert outcome["patch main"].status_code == 200, outcome["patch main"].content
    assert outcome["put"].status_code == 201, outcome["put"].content
    assert outcome["admin save"].status_code == 302
    assert Contact.objects.filter(organization=org, external_id__startswith="NEW-").count() == 1000
    assert Contact.objects.get(pk=target.pk).phone == "+33611223344"
    assert Contact.objects.filter(pk=stored[5].pk, is_main=True, last_name="Patched").exists()
    assert Contact.objects.filter(external_id="PUT-1", is_main=True).exists()
    assert Contact.objects.filter(pk=stored[9].pk, first_name="Admin", is_main=True).exists()
    assert one_main_each(customers)


def bulk_items(customers, count: int) -> list[dict]:
    return [
        {
            "customerExternalId": customers[n % len(customers)].external_id,
            "externalId": f"B-{n}",
            "email": f"b{n}@b.example",
            "firstName": "Bulk",
        }
        for n in range(count)
    ]


def test_a_single_write_during_a_bulk_call_is_never_undone_by_it(monkeypatch, settings):
    settings.API_THROTTLE_RATE = "100000/min"
    org = OrganizationFactory()
    customers = CustomerFactory.create_batch(10, organization=org)
    existing = [
        ContactFactory(customer=c, external_id=f"B-{n}", last_name="Before", is_main=True)
        for n, c in enumerate(customers)
    ]
    api = client_for(org)
    held = Held(monkeypatch, before_writing=True)
    results: list = []

    # The bulk call renames every contact's first name and leaves last names as they are.
    calling = in_thread(
        lambda: api.post("/api/v1/contacts/bulk", bulk_items(customers, 1000), format="json"), results, "bulk"
    )
    assert held.reached.wait(30)
    patching = in_thread(
        lambda: api.patch(
            f"/api/v1/customers/{customers[2].pk}/contacts/{existing[2].pk}", {"lastName": "Patched"}
        ),
        results,
        "patch",
    )
    promoting_other = ContactFactory(customer=customers[4], external_id="OTHER")
    promoting = in_thread(
        lambda: api.patch(
            f"/api/v1/customers/{customers[4].pk}/contacts/{promoting_other.pk}", {"isMain": True}
        ),
        results,
        "promote",
    )
    for thread in (calling, patching, promoting):
        thread.join(60)

    outcome = {name: value for name, value, _at in results}
    answered = {name: at for name, _value, at in results}
    assert outcome["bulk"].status_code == 200, outcome["bulk"].content
    # The PATCH waited for the customer's lock: it was answered only once the bulk call went on.
    assert answered["patch"] > held.released_at
    assert outcome["patch"].status_code == 200
    assert outcome["promote"].status_code == 200
    patched = Contact.objects.get(pk=existing[2].pk)
    assert (patched.first_name, patched.last_name) == ("Bulk", "Patched")
    assert Contact.objects.get(pk=promoting_other.pk).is_main is True
    assert Contact.objects.filter(customer=customers[4], is_main=True).count() == 1
    assert one_main_each(customers)


def test_writes_of_customers_a_bulk_call_does_not_name_do_not_wait_for_it(monkeypatch, settings):
    settings.API_THROTTLE_RATE = "100000/min"
    org = OrganizationFactory()
    # More customers than one locking statement takes: only those named are locked, never all of them.
    elsewhere = CustomerFactory(organization=org)
    named = Customer.objects.bulk_create(
        [Customer(organization=org, name=f"N{n}", external_id=f"N-{n}") for n in range(1000)]
    )
    api = client_for(org)
    held = Held(monkeypatch)
    results: list = []

    calling = in_thread(
        lambda: api.post("/api/v1/contacts/bulk", bulk_items(named, 1000), format="json"), results, "bulk"
    )
    assert held.reached.wait(30)
    # Its foreign keys are checked at COMMIT against the organization the bulk call holds locked.
    putting = in_thread(
        lambda: api.put(
            f"/api/v1/customers/{elsewhere.pk}/contacts/external:ELSE-1", {"email": "else@b.example"}
        ),
        results,
        "put",
    )
    putting.join(60)
    calling.join(60)

    finished = {name: (value, at) for name, value, at in results}
    assert finished["put"][0].status_code == 201
    assert finished["bulk"][0].status_code == 200
    assert finished["put"][1] < held.released_at  # answered while the bulk call was still running


def test_a_bulk_write_plans_from_contacts_read_under_the_customer_lock():
    # A PATCH frees an email (a@ → b@) and holds its customer's lock until it commits; a bulk call then
    # creates a contact with a@. Planned from a read before the lock, it would find a@ taken and refuse.
    org = OrganizationFactory()
    customer = CustomerFactory(organization=org)
    freed = ContactFactory(customer=customer, external_id="X", email="a@b.example")
    holding, results = threading.Event(), []

    def patch_and_hold():
        with transaction.atomic():
            contact_update(contact=Contact.objects.get(pk=freed.pk), actor=actor("api"), email="b@b.example")
            holding.set()
            time.sleep(HOLD)
        return "committed"

    def bulk_call():
        assert holding.wait(30)
        rows = [bulk_row(0, customer, "Y", "a@b.example")]
        return contacts_bulk_upsert(organization=org, rows=rows, actor=actor("api")).plan.totals

    threads = [in_thread(patch_and_hold, results, "patch"), in_thread(bulk_call, results, "bulk")]
    for thread in threads:
        thread.join(60)

    outcome = {name: value for name, value, _at in results}
    assert outcome["patch"] == "committed"
    assert not isinstance(outcome["bulk"], BaseException), outcome["bulk"]
    assert outcome["bulk"]["new"] == 1
    assert set(Contact.objects.values_list("external_id", "email")) == {
        ("X", "b@b.example"),
        ("Y", "a@b.example"),
    }
