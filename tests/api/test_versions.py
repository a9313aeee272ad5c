"""ETag on a contact, If-Match on its writes (412 when stale), Location on every 201; occupation while
synced."""

import pytest

from contacts.models import Contact
from contacts.normalization import UNDELIVERABLE_EMAIL
from contacts.services.contacts import CONTACT_CHANGED, CONTACT_NOT_THERE
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def url(contact) -> str:
    return f"/api/v1/customers/{contact.customer_id}/contacts/{contact.pk}"


@pytest.fixture
def contact(org):
    return ContactFactory(customer=CustomerFactory(organization=org), first_name="Ann")


def test_a_contact_is_read_with_its_etag_and_every_write_answers_the_new_one(api, contact):
    read = api.get(url(contact))

    changed = api.patch(url(contact), {"firstName": "Anna"}, HTTP_IF_MATCH=read.headers["ETag"])

    assert read.headers["ETag"].startswith('"')
    assert changed.status_code == 200
    assert changed.headers["ETag"] != read.headers["ETag"]
    assert api.get(url(contact)).headers["ETag"] == changed.headers["ETag"]


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_a_stale_if_match_is_a_412_and_changes_nothing(api, contact, method):
    stale = api.get(url(contact)).headers["ETag"]
    api.patch(url(contact), {"lastName": "Meanwhile"})
    before = list(Contact.objects.values_list())

    response = getattr(api, method)(url(contact), {"firstName": "Late"}, HTTP_IF_MATCH=stale)

    assert response.status_code == 412
    assert response.json() == {"message": CONTACT_CHANGED, "errors": {}}
    assert list(Contact.objects.values_list()) == before


@pytest.mark.parametrize("if_match", ["*", '"nope", {etag}', 'W/"x", {etag}'])
def test_if_match_takes_star_and_lists_of_etags(api, contact, if_match):
    etag = api.get(url(contact)).headers["ETag"]

    response = api.patch(url(contact), {"firstName": "Bo"}, HTTP_IF_MATCH=if_match.format(etag=etag))

    assert response.status_code == 200


def test_a_weak_etag_never_matches_a_write(api, contact):
    etag = api.get(url(contact)).headers["ETag"]

    assert api.delete(url(contact), HTTP_IF_MATCH=f"W/{etag}").status_code == 412
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_a_put_with_if_match_never_creates(api, org):
    customer = CustomerFactory(organization=org)

    response = api.put(
        f"/api/v1/customers/{customer.pk}/contacts/external:NEW",
        {"email": "new@client.example"},
        HTTP_IF_MATCH="*",
    )

    assert (response.status_code, response.json()["message"]) == (412, CONTACT_NOT_THERE)
    assert not Contact.objects.exists()


def test_a_put_that_creates_answers_201_with_location_and_etag(api, org):
    customer = CustomerFactory(organization=org)

    response = api.put(
        f"/api/v1/customers/{customer.pk}/contacts/external:NEW", {"email": "n@client.example"}
    )

    contact = Contact.objects.get()
    assert response.status_code == 201
    assert response.headers["Location"] == url(contact)
    assert api.get(response.headers["Location"]).headers["ETag"] == response.headers["ETag"]


def test_a_put_without_email_updates_an_existing_contact(api, contact):
    response = api.put(
        f"/api/v1/customers/{contact.customer_id}/contacts/external:{contact.external_id}",
        {"firstName": "Annie"},
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.first_name, contact.email) == ("Annie", response.json()["email"])


@pytest.mark.parametrize("email", ["ops@localhost", "x@[127.0.0.1]"])
def test_addresses_mail_cannot_reach_are_a_400(api, org, email):
    customer = CustomerFactory(organization=org)

    response = api.post(f"/api/v1/customers/{customer.pk}/contacts", {"externalId": "K", "email": email})

    assert response.status_code == 400
    assert response.json()["errors"] == {"email": [UNDELIVERABLE_EMAIL.format(value=email)]}
    assert not Contact.objects.exists()


def test_the_position_of_a_synced_contact_can_change_and_nothing_else(synced_api, synced_org):
    contact = ContactFactory(customer=CustomerFactory(organization=synced_org), occupation="")

    changed = synced_api.patch(url(contact), {"position": "payer"})
    upserted = synced_api.put(
        f"/api/v1/customers/{contact.customer_id}/contacts/external:{contact.external_id}",
        {"position": "SALES"},
    )
    refused = synced_api.patch(url(contact), {"position": "PAYER", "firstName": "X"})

    assert (changed.status_code, changed.json()["position"]) == (200, "PAYER")
    assert (upserted.status_code, upserted.json()["position"]) == (200, "SALES")
    assert refused.status_code == 409
    contact.refresh_from_db()
    assert (contact.occupation, contact.first_name) == ("SALES", "Camille")


WRITABLE = ("externalId", "email", "firstName", "lastName", "phone", "position", "isMain")


@pytest.mark.parametrize(
    "stored",
    [
        {},
        # As the invoicing sync may have stored them: not in the forms the API's rules would make.
        {"phone": "06 12 34 56 78", "email": "Anne.Roux@Example.com", "first_name": "  Anne  "},
    ],
)
def test_a_synced_contact_read_then_put_back_with_another_position_is_saved(synced_api, synced_org, stored):
    contact = ContactFactory(customer=CustomerFactory(organization=synced_org), occupation="SALES", **stored)
    Contact.objects.filter(pk=contact.pk).update(**stored)  # stored as is, not through the model's rules
    before = Contact.objects.values().get(pk=contact.pk)
    read = synced_api.get(url(contact)).json()

    body = {name: read[name] for name in WRITABLE} | {"position": "PAYER"}
    by_id = synced_api.put(url(contact), body, format="json")
    by_code = synced_api.put(
        f"/api/v1/customers/{contact.customer_id}/contacts/external:{contact.external_id}",
        body | {"position": "ACCOUNTING"},
        format="json",
    )

    assert (by_id.status_code, by_code.status_code) == (200, 200), (by_id.json(), by_code.json())
    after = Contact.objects.values().get(pk=contact.pk)
    assert after["occupation"] == "ACCOUNTING"
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"occupation", "updated_at"}


def test_a_synced_contact_put_with_another_name_is_still_a_409(synced_api, synced_org):
    contact = ContactFactory(customer=CustomerFactory(organization=synced_org), first_name="Anne")
    read = synced_api.get(url(contact)).json()

    response = synced_api.put(
        url(contact), {name: read[name] for name in WRITABLE} | {"firstName": "Bo"}, format="json"
    )

    assert response.status_code == 409
    assert Contact.objects.get(pk=contact.pk).first_name == "Anne"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_values_the_rules_refuse_are_not_refused_when_sent_back_as_stored(synced_api, synced_org, method):
    # Stored by the invoicing sync: a phone the rules cannot read, an address the mail provider refuses.
    contact = ContactFactory(customer=CustomerFactory(organization=synced_org), occupation="SALES")
    Contact.objects.filter(pk=contact.pk).update(phone="n/a", email="a!b@example.com")
    read = synced_api.get(url(contact)).json()

    body = {name: read[name] for name in WRITABLE} | {"position": "PAYER"}
    response = getattr(synced_api, method)(url(contact), body, format="json")

    assert response.status_code == 200, response.json()
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.occupation, stored.phone, stored.email) == ("PAYER", "n/a", "a!b@example.com")


def test_a_value_the_rules_refuse_is_still_refused_when_it_is_not_the_stored_one(api, org):
    contact = ContactFactory(customer=CustomerFactory(organization=org))
    Contact.objects.filter(pk=contact.pk).update(email="a!b@example.com")

    response = api.patch(url(contact), {"email": "c!d@example.com"}, format="json")

    assert response.status_code == 400
    assert Contact.objects.get(pk=contact.pk).email == "a!b@example.com"
