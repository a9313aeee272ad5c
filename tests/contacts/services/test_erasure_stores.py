"""Erasing a person from the stores beyond the logs: API responses kept for retries, kept uploads; for a
synced organization too; and the contact read under its customer's lock."""

import json
import threading
import time
import zlib

import pytest
from django.core.cache import cache
from django.db import connection

from contacts.importing.uploads import keep_upload
from contacts.models import Contact, ImportBatch, ImportUpload
from contacts.services import changelog
from contacts.services.contacts import contact_update
from contacts.services.erasure import contact_erase
from customers.models import IdempotentRequest
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import actor, client_for, contact_row, csv_bytes, postgresql_only, xlsx_bytes

EMAIL = "anne.roux@client.example"


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_a_contact_of_an_organization_still_synced_is_erased_too(synced_org):
    ContactFactory(customer__organization=synced_org, external_id="P-1", email=EMAIL)

    erasure = contact_erase(organization=synced_org, external_id="P-1", actor=actor("command"))

    assert erasure.deleted is True
    assert not Contact.objects.filter(external_id="P-1").exists()


@pytest.mark.django_db
def test_the_api_responses_kept_for_retries_lose_the_persons_data(org):
    api = client_for(org)
    customer = CustomerFactory(organization=org)
    url = f"/api/v1/customers/{customer.pk}/contacts"
    body = {"externalId": "P-1", "email": EMAIL, "firstName": "Anne", "lastName": "Roux"}
    api.post(url, body, HTTP_IDEMPOTENCY_KEY="erased")
    api.post(url, {"externalId": "P-2", "email": "kept@client.example"}, HTTP_IDEMPOTENCY_KEY="kept")

    erasure = contact_erase(organization=org, external_id="P-1", actor=actor("command"))

    erased = IdempotentRequest.objects.get(key="erased").body
    assert not {EMAIL, "Anne", "Roux"} & set(map(str, erased.values()))
    assert (erased["externalId"], erased["email"], erased["firstName"]) == ("P-1", None, None)
    assert IdempotentRequest.objects.get(key="kept").body["email"] == "kept@client.example"
    assert erasure.api_responses == 1
    retried = api.post(url, body, HTTP_IDEMPOTENCY_KEY="erased")
    assert EMAIL not in retried.content.decode()


def keep(org, data: bytes, name: str) -> ImportUpload:
    return keep_upload(user=UserFactory(), data=data, filename=name, organization=org)


@pytest.mark.django_db
def test_kept_uploads_naming_the_person_are_deleted_and_the_others_kept(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="P-1", email=EMAIL, first_name="Anne", last_name="Roux")
    other = [contact_row(customer, "P-9", "someone@client.example")]
    keep(org, csv_bytes([contact_row(customer, "P-7", EMAIL.upper())]), "a.csv")
    keep(org, xlsx_bytes([contact_row(customer, "P-1", "new@client.example")]), "b.xlsx")
    unrelated = keep(org, csv_bytes(other), "c.csv")
    in_preview_only = keep(org, csv_bytes(other), "d.csv")
    warning = {"errors": [], "warnings": [[2, "is_main", f'"P-1" ({EMAIL}) stops being the main contact']]}
    ImportUpload.objects.filter(pk=in_preview_only.pk).update(
        preview=zlib.compress(json.dumps(warning).encode())
    )
    another_org = keep(OrganizationFactory(), csv_bytes([contact_row(customer, "P-1", EMAIL)]), "e.csv")

    erasure = contact_erase(organization=org, external_id="P-1", actor=actor("command"))

    kept = set(ImportUpload.objects.values_list("pk", flat=True))
    assert kept == {unrelated.pk, another_org.pk}
    assert erasure.uploads == 3


@pytest.mark.django_db
def test_an_xls_upload_which_cannot_be_searched_is_deleted(org):
    ContactFactory(customer__organization=org, external_id="P-1", email=EMAIL)
    keep(org, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "Workbook".encode("utf-16-le") + b"\0" * 64, "a.xls")

    erasure = contact_erase(organization=org, external_id="P-1", actor=actor("command"))

    assert (erasure.uploads, ImportUpload.objects.count()) == (1, 0)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_contact_is_read_under_its_customers_lock_so_a_concurrent_change_is_erased_too(monkeypatch):
    org = OrganizationFactory()
    contact = ContactFactory(customer__organization=org, external_id="P-1", email=EMAIL)
    ImportBatch.objects.create(
        organization=org,
        file_name="x.csv",
        sha256="0",
        format="csv",
        status="committed",
        warnings=[{"row": 2, "column": None, "message": "Row 2 quotes anne.new@client.example."}],
    )
    reached, original = threading.Event(), changelog.record

    def held(*args, **kwargs):
        result = original(*args, **kwargs)
        if not reached.is_set():
            reached.set()
            time.sleep(1.0)
        return result

    monkeypatch.setattr(changelog, "record", held)

    def edit():
        try:
            contact_update(contact=contact, actor=actor(), email="anne.new@client.example")
        finally:
            connection.close()

    editing = threading.Thread(target=edit)
    editing.start()
    assert reached.wait(30)
    contact_erase(organization=org, external_id="P-1", actor=actor("command"))
    editing.join(30)

    warnings = ImportBatch.objects.get().warnings
    assert "anne.new@client.example" not in warnings[0]["message"]
    assert not Contact.objects.filter(external_id="P-1").exists()
