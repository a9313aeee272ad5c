"""Deleting a customer deletes its contacts, and the change log (so the changes feed) says so."""

import pytest
from django.urls import reverse

from contacts.models import Contact, ContactChange
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import client_for, contacts_as_mirrored, follow_feed

pytestmark = pytest.mark.django_db


def test_deleting_a_customer_in_the_admin_records_its_contacts_deletion(superuser_client, org):
    customer = CustomerFactory(organization=org)
    contacts = ContactFactory.create_batch(2, customer=customer)
    kept = ContactFactory(customer__organization=org)

    response = superuser_client.post(
        reverse("admin:customers_customer_delete", args=[customer.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert list(Contact.objects.values_list("pk", flat=True)) == [kept.pk]
    deleted = ContactChange.objects.filter(action="deleted", channel="admin")
    assert sorted(deleted.values_list("contact_id", flat=True)) == sorted(c.pk for c in contacts)
    assert set(deleted.values_list("actor", flat=True)) == {response.wsgi_request.user.get_username()}


def test_a_feed_client_sees_the_contacts_of_a_deleted_customer_go(superuser_client, org):
    api = client_for(org)
    mirror: dict = {}
    cursor = follow_feed(api, mirror)
    ContactFactory(customer__organization=org)  # arranged directly: no log entry, nothing to mirror
    gone = CustomerFactory(organization=org)
    api.put(f"/api/v1/customers/{gone.pk}/contacts/external:G-1", {"email": "g@b.example"})
    cursor = follow_feed(api, mirror, cursor)
    assert len(mirror) == 1

    superuser_client.post(reverse("admin:customers_customer_delete", args=[gone.pk]), {"post": "yes"})
    follow_feed(api, mirror, cursor)

    assert mirror == {}
    assert len(contacts_as_mirrored(org)) == 1  # the arranged contact, never logged, never mirrored


def test_a_synced_organizations_customer_with_contacts_cannot_be_deleted(superuser_client, synced_org):
    customer = CustomerFactory(organization=synced_org)
    ContactFactory(customer=customer)
    empty = CustomerFactory(organization=synced_org)

    refused = superuser_client.post(
        reverse("admin:customers_customer_delete", args=[customer.pk]), {"post": "yes"}
    )
    allowed = superuser_client.post(
        reverse("admin:customers_customer_delete", args=[empty.pk]), {"post": "yes"}
    )

    assert refused.status_code == 403
    assert Contact.objects.filter(customer=customer).count() == 1
    assert allowed.status_code == 302
    assert not type(empty).objects.filter(pk=empty.pk).exists()
