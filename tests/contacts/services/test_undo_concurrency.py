"""Undo against other writers of the same organization, on PostgreSQL: one waits for the other, nothing
is half done, and every customer keeps at most one main contact."""

import threading
import time

import pytest
from django.db import connection

from contacts.importing.pipeline import commit_import
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.services import bulk, undo
from contacts.services.undo import UndoRefused, import_undo
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import actor, client_for, contact_row, csv_bytes, postgresql_only

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]

HOLD = 1.0


def in_thread(target, results: dict, name: str) -> threading.Thread:
    def run():
        try:
            results[name] = (target(), time.monotonic())
        except BaseException as error:  # surfaced by the assertions
            results[name] = (error, time.monotonic())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def hold(monkeypatch, module, name: str) -> threading.Event:
    """Make module.name stop for HOLD seconds once it has run, inside its caller's transaction."""
    reached, original = threading.Event(), getattr(module, name)

    def held(*args, **kwargs):
        result = original(*args, **kwargs)
        reached.set()
        time.sleep(HOLD)
        return result

    monkeypatch.setattr(module, name, held)
    return reached


def mains(customers) -> list[int]:
    return [Contact.objects.filter(customer=c, is_main=True).count() for c in customers]


def an_import(org, customers):
    """Each customer's stored main contact demoted by a new main from the file."""
    rows = [contact_row(c, f"NEW-{i}", f"new{i}@b.example", is_main="yes") for i, c in enumerate(customers)]
    return commit_import(organization=org, data=csv_bytes(rows), filename="c.csv").batch


def test_an_undo_waits_for_an_import_of_the_same_organization_and_sees_what_it_did(monkeypatch, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 10
    org = OrganizationFactory()
    customers = CustomerFactory.create_batch(3, organization=org)
    for customer in customers:
        ContactFactory(customer=customer, is_main=True)
    first = an_import(org, customers)
    later_rows = [
        contact_row(c, f"NEW-{i}", f"new{i}@b.example", last_name="Later") for i, c in enumerate(customers)
    ]
    reached = hold(monkeypatch, bulk, "apply_plan")
    results: dict = {}

    importing = in_thread(
        lambda: commit_import(organization=org, data=csv_bytes(later_rows), filename="later.csv"),
        results,
        "import",
    )
    assert reached.wait(30)
    undoing = in_thread(
        lambda: import_undo(organization=org, batch_id=first.pk, actor=actor("undo")), results, "undo"
    )
    for thread in (importing, undoing):
        thread.join(60)

    imported, imported_at = results["import"]
    refused, refused_at = results["undo"]
    assert imported.committed
    # The undo waited for the import's commit, then saw that it touched the same contacts.
    assert isinstance(refused, UndoRefused)
    assert refused.code == "later_import"
    assert refused_at > imported_at - 0.01
    assert Contact.objects.filter(organization=org, last_name="Later").count() == 3
    assert mains(customers) == [1, 1, 1]
    first.refresh_from_db()
    assert first.status == "committed"


def test_api_writes_during_an_undo_wait_for_it_and_are_kept(monkeypatch, settings):
    settings.API_THROTTLE_RATE = "100000/min"
    org = OrganizationFactory()
    customers = CustomerFactory.create_batch(3, organization=org)
    stored = [ContactFactory(customer=c, is_main=True) for c in customers]
    batch = an_import(org, customers)
    reached = hold(monkeypatch, undo, "_apply")
    api = client_for(org)
    results: dict = {}

    undoing = in_thread(
        lambda: import_undo(organization=org, batch_id=batch.pk, actor=actor("undo")), results, "undo"
    )
    assert reached.wait(30)
    # The undo holds the customers' locks: these wait, then write on top of what it restored.
    target = stored[0]
    writers = [
        in_thread(
            lambda: api.patch(
                f"/api/v1/customers/{target.customer_id}/contacts/{target.pk}", {"lastName": "After"}
            ),
            results,
            "patch",
        ),
        in_thread(
            lambda: api.put(
                f"/api/v1/customers/{customers[1].pk}/contacts/external:PUT-1",
                {"email": "p@b.example", "isMain": True},
            ),
            results,
            "put main",
        ),
    ]
    for thread in (undoing, *writers):
        thread.join(60)

    plan, undone_at = results["undo"]
    assert not isinstance(plan, BaseException), plan
    for name in ("patch", "put main"):
        response, written_at = results[name]
        assert response.status_code in (200, 201), response.content
        assert written_at >= undone_at - 0.01
    assert ImportBatch.objects.get().status == "undone"
    assert not Contact.objects.filter(external_id__startswith="NEW-").exists()
    assert Contact.objects.get(pk=target.pk).last_name == "After"
    assert Contact.objects.get(external_id="PUT-1").is_main
    assert mains(customers) == [1, 1, 1]
    assert list(
        Contact.objects.filter(pk__in=[s.pk for s in stored], is_main=True).values_list("pk", flat=True)
    ) == [
        stored[0].pk,
        stored[2].pk,
    ]


def test_a_double_clicked_undo_runs_once_and_the_second_is_refused(monkeypatch):
    org = OrganizationFactory()
    customers = CustomerFactory.create_batch(2, organization=org)
    for customer in customers:
        ContactFactory(customer=customer, is_main=True)
    batch = an_import(org, customers)
    reached = hold(monkeypatch, undo, "_apply")
    results: dict = {}

    first = in_thread(
        lambda: import_undo(organization=org, batch_id=batch.pk, actor=actor("undo")), results, "1"
    )
    assert reached.wait(30)
    second = in_thread(
        lambda: import_undo(organization=org, batch_id=batch.pk, actor=actor("undo")), results, "2"
    )
    for thread in (first, second):
        thread.join(60)

    done, _at = results["1"]
    refused, _at = results["2"]
    assert not isinstance(done, BaseException), done
    assert isinstance(refused, UndoRefused)
    assert refused.code == "already_undone"
    assert ContactChange.objects.filter(channel="undo", action="deleted").count() == 2
    assert mains(customers) == [1, 1]
