"""Deleting many contacts at once (the admin's "Delete selected contacts"): one transaction, one
"deleted" entry per contact written in bulk, refused for a synced organization."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, ContactChange
from contacts.services.bulk import contacts_delete
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import actor

pytestmark = pytest.mark.django_db


def test_each_deleted_contact_gets_one_entry_with_the_actor(org):
    customers = CustomerFactory.create_batch(2, organization=org)
    doomed = [ContactFactory(customer=c) for c in customers for _ in range(2)]
    kept = ContactFactory(customer=customers[0])

    deleted = contacts_delete(contact_ids=[c.pk for c in doomed], actor=actor(name="lea"))

    assert deleted == 4
    assert list(Contact.objects.values_list("pk", flat=True)) == [kept.pk]
    entries = ContactChange.objects.order_by("seq")
    assert [(e.contact_id, e.action, e.channel, e.actor) for e in entries] == [
        (c.pk, "deleted", "admin", "lea") for c in doomed
    ]
    assert entries[0].before["email"] == doomed[0].email
    assert [e.seq for e in entries] == [1, 2, 3, 4]


def test_the_queries_do_not_grow_with_the_contacts_deleted(org):
    customer = CustomerFactory(organization=org)
    few = [c.pk for c in ContactFactory.create_batch(2, customer=customer)]
    many = [c.pk for c in ContactFactory.create_batch(20, customer=customer)]

    with CaptureQueriesContext(connection) as for_few:
        contacts_delete(contact_ids=few, actor=actor())
    with CaptureQueriesContext(connection) as for_many:
        contacts_delete(contact_ids=many, actor=actor())

    assert len(for_many) == len(for_few)


def test_contacts_of_several_organizations_are_numbered_in_each(org):
    other = OrganizationFactory()
    mine, theirs = ContactFactory(customer__organization=org), ContactFactory(customer__organization=other)

    contacts_delete(contact_ids=[mine.pk, theirs.pk], actor=actor())

    assert set(ContactChange.objects.values_list("organization_id", "seq", "contact_id")) == {
        (org.pk, 1, mine.pk),
        (other.pk, 1, theirs.pk),
    }


def test_a_synced_organizations_contact_refuses_the_whole_deletion(org, synced_org):
    mine, synced = (
        ContactFactory(customer__organization=org),
        ContactFactory(customer__organization=synced_org),
    )

    with pytest.raises(ValidationError) as refused:
        contacts_delete(contact_ids=[mine.pk, synced.pk], actor=actor())

    assert refused.value.code == "contacts_synced"
    assert (Contact.objects.count(), ContactChange.objects.count()) == (2, 0)
