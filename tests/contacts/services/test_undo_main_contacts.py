"""Undoing an import never leaves a customer that had a main contact before it without one."""

import pytest

from contacts.importing.pipeline import commit_import
from contacts.models import Contact
from contacts.services.contacts import contact_delete, contact_update
from contacts.services.undo import import_undo, plan_undo
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import actor, contact_row, csv_bytes

pytestmark = pytest.mark.django_db


def imported(org, rows):
    return commit_import(organization=org, data=csv_bytes(rows), filename="c.csv").batch


def undo(org, batch, **options):
    return import_undo(organization=org, batch_id=batch.pk, actor=actor("undo"), **options)


def mains(customer) -> list[str]:
    return list(Contact.objects.filter(customer=customer, is_main=True).values_list("external_id", flat=True))


def customer_with_main_and_other(org, suffix: str = ""):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id=f"MAIN{suffix}", email="main@b.example", is_main=True)
    ContactFactory(customer=customer, external_id=f"OTHER{suffix}", email="other@b.example")
    return customer


def test_a_new_main_whose_predecessor_changed_since_is_kept_as_a_conflict(org):
    customer = customer_with_main_and_other(org)
    batch = imported(org, [contact_row(customer, "NEW", "new@b.example", is_main="yes")])
    contact_update(contact=Contact.objects.get(external_id="MAIN"), actor=actor(), first_name="Edited")

    preview = plan_undo(organization=org, batch_id=batch.pk)
    plan = undo(org, batch)

    assert {t.external_id: t.keeps_main for t in preview.conflicts} == {"MAIN": False, "NEW": True}
    assert [t.previous_main for t in preview.conflicts if t.keeps_main] == ["MAIN"]
    assert plan.totals == {"deleted": 0, "restored": 0, "conflicts": 2, "left": 2, "demoted": 0}
    assert mains(customer) == ["NEW"]


def test_forcing_the_conflicts_restores_the_previous_main_and_deletes_the_new_one(org):
    customer = customer_with_main_and_other(org)
    batch = imported(org, [contact_row(customer, "NEW", "new@b.example", is_main="yes")])
    contact_update(contact=Contact.objects.get(external_id="MAIN"), actor=actor(), first_name="Edited")

    plan = undo(org, batch, include_conflicts=True)

    assert mains(customer) == ["MAIN"]
    assert not Contact.objects.filter(external_id="NEW").exists()
    assert plan.totals["left"] == 0


def test_a_new_main_whose_predecessor_was_deleted_since_stays_even_when_forced(org):
    customer = customer_with_main_and_other(org)
    batch = imported(org, [contact_row(customer, "NEW", "new@b.example", is_main="yes")])
    contact_delete(contact=Contact.objects.get(external_id="MAIN"), actor=actor("api"))

    plan = undo(org, batch, include_conflicts=True)

    assert mains(customer) == ["NEW"]
    assert Contact.objects.filter(customer=customer).count() == 2
    assert plan.totals["left"] == 1
    assert [t.external_id for t in plan.conflicts if t.keeps_main] == ["NEW"]


def test_an_existing_contact_made_main_keeps_it_when_its_predecessor_changed_since(org):
    customer = customer_with_main_and_other(org)
    batch = imported(org, [contact_row(customer, "OTHER", "other@b.example", is_main="yes")])
    contact_update(contact=Contact.objects.get(external_id="MAIN"), actor=actor(), last_name="Edited")

    undo(org, batch)

    assert mains(customer) == ["OTHER"]


def test_a_customer_without_a_main_before_the_import_gets_its_state_back(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="OTHER", email="other@b.example")
    batch = imported(org, [contact_row(customer, "NEW", "new@b.example", is_main="yes")])

    undo(org, batch)

    assert mains(customer) == []
    assert list(Contact.objects.filter(customer=customer).values_list("external_id", flat=True)) == ["OTHER"]


def test_every_customer_keeps_one_main_after_an_undo_of_many(org):
    customers = [customer_with_main_and_other(org, f"-{i}") for i in range(3)]
    rows = [contact_row(c, f"NEW-{i}", f"new{i}@b.example", is_main="yes") for i, c in enumerate(customers)]
    batch = imported(org, rows)
    contact_delete(contact=Contact.objects.get(external_id="MAIN-1"), actor=actor("api"))

    undo(org, batch)

    assert [mains(c) for c in customers] == [["MAIN-0"], ["NEW-1"], ["MAIN-2"]]
