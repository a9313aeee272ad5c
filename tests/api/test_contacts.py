import datetime
import json

import pytest
from django.utils import timezone

from contacts.api.contacts import EXTERNAL_ID_MISMATCH
from contacts.api.errors import INVALID_VALUES, NO_SUCH_ENDPOINT
from contacts.api.lookups import CONTACT_NOT_FOUND
from contacts.api.parsers import BODY_TOO_LARGE
from contacts.models import EMAIL_TAKEN, EXTERNAL_ID_TAKEN, Contact
from contacts.normalization import (
    EMAIL_REFUSED_BY_PROVIDER,
    IDENTIFIER_UNPRINTABLE,
    INVALID_EMAIL,
    INVALID_PHONE,
    shown,
)
from contacts.services.checks import MAIN_CONTACT_INVALID, OCCUPATION_INVALID
from contacts.services.contacts import (
    CONTACT_OF_ANOTHER_CUSTOMER,
    CONTACTS_SYNCED,
    ONLY_OCCUPATION_WHILE_SYNCED,
)
from contacts.services.contacts import EMAIL_REQUIRED_TO_CREATE as EMAIL_REQUIRED
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

CONTACT_KEYS = {
    "id",
    "externalId",
    "customerId",
    "customerExternalId",
    "email",
    "firstName",
    "lastName",
    "phone",
    "position",
    "isMain",
    "source",
    "createdAt",
    "updatedAt",
}


def url(customer, contact=None) -> str:
    base = f"/api/v1/customers/{customer.pk}/contacts"
    return base if contact is None else f"{base}/{contact}"


def snapshot() -> list[tuple]:
    return list(Contact.objects.order_by("pk").values_list())


# Reading


def test_a_customers_contacts_are_listed(api, org):
    customer = CustomerFactory(organization=org)
    contacts = ContactFactory.create_batch(2, customer=customer)
    ContactFactory(customer=CustomerFactory(organization=org))

    body = api.get(url(customer)).json()

    assert body["total"] == 2
    assert [c["id"] for c in body["results"]] == [c.pk for c in contacts]
    assert set(body["results"][0]) == CONTACT_KEYS


def test_a_contact_reads_in_camel_case(api, org):
    customer = CustomerFactory(organization=org, external_id="CUST-9")
    contact = ContactFactory(
        customer=customer,
        external_id="K-1",
        email="ann@client.example",
        first_name="Ann",
        last_name="Lee",
        phone="+33612345678",
        occupation="PAYER",
        is_main=True,
    )

    body = api.get(url(customer, contact.pk)).json()

    assert body == {
        "id": contact.pk,
        "externalId": "K-1",
        "customerId": customer.pk,
        "customerExternalId": "CUST-9",
        "email": "ann@client.example",
        "firstName": "Ann",
        "lastName": "Lee",
        "phone": "+33612345678",
        "position": "PAYER",
        "isMain": True,
        "source": "manual",
        "createdAt": contact.created_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "updatedAt": contact.updated_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
    }


def test_blank_phone_and_position_read_as_null(api, org):
    contact = ContactFactory(customer=CustomerFactory(organization=org), phone="", occupation="")

    body = api.get(url(contact.customer, contact.pk)).json()

    assert (body["phone"], body["position"]) == (None, None)


def test_a_contact_is_found_by_external_id_under_its_customer_by_external_id(api, org):
    contact = ContactFactory(customer=CustomerFactory(organization=org), external_id="K 1/2")

    response = api.get(
        f"/api/v1/customers/external:{contact.customer.external_id}/contacts/external:K%201%2F2"
    )

    # "/" cannot be addressed in a path segment (documented): only ids without it are addressable.
    assert response.status_code == 404
    other = ContactFactory(customer=contact.customer, external_id="K 1")
    found = api.get(f"/api/v1/customers/external:{contact.customer.external_id}/contacts/external:K%201")
    assert (found.status_code, found.json()["id"]) == (200, other.pk)


def test_a_contact_of_another_customer_is_a_404(api, org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=CustomerFactory(organization=org))

    response = api.get(url(customer, contact.pk))

    assert response.status_code == 404
    assert response.json()["message"] == CONTACT_NOT_FOUND.format(ref=f'with the id "{contact.pk}"')


def test_organization_contacts_are_listed_with_filters(api, org):
    customer = CustomerFactory(organization=org, external_id="C-1")
    ann = ContactFactory(customer=customer, email="ann@client.example", external_id="ANN")
    bob = ContactFactory(customer=CustomerFactory(organization=org), email="bob@client.example")
    Contact.objects.filter(pk=bob.pk).update(updated_at=timezone.now() - datetime.timedelta(days=3))

    def ids(**params) -> list[int]:
        response = api.get("/api/v1/contacts", params)
        assert response.status_code == 200
        return [c["id"] for c in response.json()["results"]]

    assert ids() == [ann.pk, bob.pk]
    assert ids(email="ANN@client.example") == [ann.pk]
    assert ids(customerExternalId="C-1") == [ann.pk]
    assert ids(externalId="ANN") == [ann.pk]
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert ids(updatedSince=since) == [ann.pk]
    assert ids(email="nobody@client.example") == []


@pytest.mark.parametrize(
    "written",
    [
        "2026-06-01T12:00:00Z",
        "2026-06-01T14:00:00+02:00",
        "2026-06-01T14:00:00 02:00",  # a bare + in a URL arrives as a space
        "2026-06-01T12:00:00",  # no offset: UTC, like every date the API gives
    ],
)
def test_updated_since_reads_offsets_bare_plus_signs_and_utc_by_default(api, org, settings, written):
    settings.TIME_ZONE = "Europe/Paris"
    customer = CustomerFactory(organization=org)
    before, after = ContactFactory(customer=customer), ContactFactory(customer=customer)
    noon = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
    Contact.objects.filter(pk=before.pk).update(updated_at=noon - datetime.timedelta(minutes=1))
    Contact.objects.filter(pk=after.pk).update(updated_at=noon)

    response = api.get("/api/v1/contacts", {"updatedSince": written})

    assert response.status_code == 200, response.json()
    assert [c["id"] for c in response.json()["results"]] == [after.pk]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01T00:00:00Z", "0001-01-01T00:00:00+14:00"])
def test_an_invalid_updated_since_is_a_400(api, org, since):
    response = api.get("/api/v1/contacts", {"updatedSince": since})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["updatedSince"]


# Creating


def test_creating_a_contact_normalizes_it_and_records_the_api_as_source(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(
        url(customer),
        {
            "externalId": " K-1 ",
            "email": "Ann@Client.Example",
            "firstName": "Ann",
            "phone": "06 12 34 56 78",
            "position": "sales",
        },
    )

    assert response.status_code == 201
    contact = Contact.objects.get()
    assert response.json()["id"] == contact.pk
    assert response.headers["Location"] == url(customer, contact.pk)
    assert (contact.external_id, contact.email, contact.phone) == (
        "K-1",
        "ann@client.example",
        "+33612345678",
    )
    assert (contact.occupation, contact.source, contact.organization) == ("SALES", "api", org)
    assert contact.is_main is False


def test_creating_a_main_contact_demotes_the_previous_one(api, org):
    customer = CustomerFactory(organization=org)
    previous = ContactFactory(customer=customer, is_main=True)

    response = api.post(url(customer), {"externalId": "K-2", "email": "new@client.example", "isMain": True})

    assert response.status_code == 201
    previous.refresh_from_db()
    assert previous.is_main is False
    assert Contact.objects.get(pk=response.json()["id"]).is_main is True


def test_invalid_values_are_a_400_by_camel_case_field_all_at_once_in_the_imports_words(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(
        url(customer),
        {"externalId": "K-1", "email": "ann@", "phone": "12", "position": "BOSS", "isMain": "maybe"},
    )

    assert response.status_code == 400
    body = response.json()
    assert body["message"] == INVALID_VALUES
    assert body["errors"] == {
        "email": [INVALID_EMAIL.format(value="ann@")],
        "phone": [INVALID_PHONE.format(value="12")],
        "position": [OCCUPATION_INVALID.format(value="BOSS", allowed="ACCOUNTING, SALES, PURCHASER, PAYER")],
        "isMain": [MAIN_CONTACT_INVALID.format(value="maybe")],
    }
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(("written", "is_main"), [("oui", True), ("x", True), ("non", False), (True, True)])
def test_is_main_takes_the_spreadsheets_words_as_bulk_does(api, org, written, is_main):
    customer = CustomerFactory(organization=org)

    body = {"externalId": "K-1", "email": "ann@client.example", "isMain": written}
    response = api.post(url(customer), body)

    assert response.status_code == 201, response.json()
    assert Contact.objects.get().is_main is is_main


def test_missing_required_fields_are_a_400(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(url(customer), {})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"externalId", "email"}


def test_a_taken_email_or_identifier_code_is_a_400_on_its_field(api, org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, email="ann@client.example", external_id="K-1")
    before = snapshot()

    taken_email = api.post(url(customer), {"externalId": "K-2", "email": "ANN@client.example"})
    taken_id = api.post(url(customer), {"externalId": "K-1", "email": "other@client.example"})

    assert (taken_email.status_code, taken_email.json()["errors"]) == (400, {"email": [EMAIL_TAKEN]})
    assert (taken_id.status_code, taken_id.json()["errors"]) == (400, {"externalId": [EXTERNAL_ID_TAKEN]})
    assert snapshot() == before


def test_writes_are_refused_with_409_while_contacts_are_synced(synced_api, synced_org):
    customer = CustomerFactory(organization=synced_org)
    contact = ContactFactory(customer=customer, is_main=False)
    before = snapshot()
    synced = CONTACTS_SYNCED.format(organization=synced_org.name)
    only_occupation = ONLY_OCCUPATION_WHILE_SYNCED.format(organization=synced_org.name, fields="main contact")

    responses = [
        synced_api.post(url(customer), {"externalId": "K-9", "email": "new@client.example"}),
        synced_api.patch(url(customer, contact.pk), {"isMain": True}),
        synced_api.put(url(customer, "external:K-9"), {"email": "new@client.example"}),
        synced_api.put(url(customer, f"external:{contact.external_id}"), {"isMain": True}),
        synced_api.delete(url(customer, contact.pk)),
    ]

    assert [(r.status_code, r.json()["message"]) for r in responses] == [
        (409, synced),
        (409, only_occupation),
        (409, synced),
        (409, only_occupation),
        (409, synced),
    ]
    assert snapshot() == before
    # Reading is allowed.
    assert synced_api.get(url(customer, contact.pk)).status_code == 200


# Changing


def test_patch_changes_only_the_given_fields(api, org):
    contact = ContactFactory(customer=CustomerFactory(organization=org), first_name="Ann", phone="")

    response = api.patch(url(contact.customer, contact.pk), {"lastName": "Lee", "phone": "+44 20 7946 0958"})

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.phone) == ("Ann", "Lee", "+442079460958")
    assert response.json()["lastName"] == "Lee"


def test_patch_is_main_demotes_the_previous_main(api, org):
    customer = CustomerFactory(organization=org)
    first = ContactFactory(customer=customer, is_main=True)
    second = ContactFactory(customer=customer)

    response = api.patch(url(customer, f"external:{second.external_id}"), {"isMain": True})

    assert (response.status_code, response.json()["isMain"]) == (200, True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_main, second.is_main) == (False, True)


def test_null_clears_a_position_and_a_phone(api, org):
    contact = ContactFactory(
        customer=CustomerFactory(organization=org), occupation="SALES", phone="+33612345678"
    )

    response = api.patch(url(contact.customer, contact.pk), {"position": None, "phone": None})

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.occupation, contact.phone) == ("", "")


def test_an_invalid_patch_changes_nothing(api, org):
    contact = ContactFactory(customer=CustomerFactory(organization=org))
    before = snapshot()

    response = api.patch(url(contact.customer, contact.pk), {"firstName": "Zed", "email": "not-an-email"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"email": [INVALID_EMAIL.format(value="not-an-email")]}
    assert snapshot() == before


def test_delete_removes_the_contact(api, org):
    contact = ContactFactory(customer=CustomerFactory(organization=org))
    kept = ContactFactory(customer=contact.customer)

    response = api.delete(url(contact.customer, contact.pk))

    assert (response.status_code, response.content) == (204, b"")
    assert list(Contact.objects.values_list("pk", flat=True)) == [kept.pk]


# Upserting by identifier code


def test_put_creates_then_the_same_put_changes_nothing(api, org):
    customer = CustomerFactory(organization=org)
    body = {"email": "Ann@Client.Example", "firstName": "Ann", "phone": "0612345678", "isMain": True}

    created = api.put(url(customer, "external:K-1"), body)
    after_first = snapshot()
    repeated = api.put(url(customer, "external:K-1"), body)

    assert (created.status_code, repeated.status_code) == (201, 200)
    assert snapshot() == after_first
    assert repeated.json() == created.json()
    assert created.json()["externalId"] == "K-1"
    assert Contact.objects.get().source == "api"


@pytest.mark.parametrize("written", ["external:%20lead", "external:lead%20%20"])
def test_put_to_an_identifier_with_spaces_around_is_idempotent_on_the_trimmed_code(api, org, written):
    customer = CustomerFactory(organization=org)
    body = {"email": "lead@client.example"}

    created = api.put(url(customer, written), body)
    repeated = api.put(url(customer, written), body)
    read = api.get(url(customer, written))

    assert (created.status_code, repeated.status_code, read.status_code) == (201, 200, 200)
    assert Contact.objects.get().external_id == "lead"


@pytest.mark.parametrize("code", ["a\nb", "tab\there", "bell\x07"])
def test_identifier_codes_with_invisible_characters_are_refused(api, org, code):
    customer = CustomerFactory(organization=org)

    response = api.post(url(customer), {"externalId": code, "email": "x@client.example"})

    assert response.status_code == 400
    assert response.json()["errors"]["externalId"] == [IDENTIFIER_UNPRINTABLE.format(value=shown(code))]
    assert not Contact.objects.exists()


def test_put_updates_an_existing_contact_and_keeps_fields_left_out(api, org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer, external_id="K-1", first_name="Ann", last_name="Lee")

    response = api.put(
        url(customer, "external:K-1"), {"email": "ann.lee@client.example", "lastName": "Smith"}
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.email, contact.first_name, contact.last_name) == (
        "ann.lee@client.example",
        "Ann",
        "Smith",
    )
    assert Contact.objects.count() == 1


def test_put_by_internal_id_updates_and_never_creates(api, org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer)

    updated = api.put(url(customer, contact.pk), {"firstName": "Zoé"})
    missing = api.put(url(customer, 999999), {"externalId": "K-5", "email": "k5@client.example"})

    assert updated.status_code == 200
    contact.refresh_from_db()
    assert contact.first_name == "Zoé"
    assert missing.status_code == 404
    assert Contact.objects.count() == 1


def test_put_needs_an_email_to_create(api, org):
    customer = CustomerFactory(organization=org)

    response = api.put(url(customer, "external:K-1"), {"firstName": "Ann"})

    assert (response.status_code, response.json()["errors"]) == (400, {"email": [EMAIL_REQUIRED]})
    assert Contact.objects.count() == 0


def test_put_refuses_a_body_naming_another_identifier_code(api, org):
    customer = CustomerFactory(organization=org)

    response = api.put(url(customer, "external:K-1"), {"externalId": "K-2", "email": "a@client.example"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"externalId": [EXTERNAL_ID_MISMATCH.format(body="K-2", url="K-1")]}
    assert Contact.objects.count() == 0


def test_put_refuses_to_move_a_contact_to_another_customer(api, org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=CustomerFactory(organization=org), external_id="K-1")
    before = snapshot()

    response = api.put(url(customer, "external:K-1"), {"email": contact.email})

    assert response.status_code == 400
    message = CONTACT_OF_ANOTHER_CUSTOMER.format(value="K-1", code=contact.customer.external_id)
    assert response.json()["errors"] == {"externalId": [message]}
    assert snapshot() == before


# Errors are JSON


def test_a_body_over_the_size_limit_is_a_413_in_json(api, org, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    customer = CustomerFactory(organization=org)

    response = api.post(
        url(customer), {"externalId": "K-1", "email": "a@client.example", "firstName": "x" * 300}
    )

    assert response.status_code == 413
    assert response.json() == {"message": BODY_TOO_LARGE.format(limit=200), "errors": {}}
    assert Contact.objects.count() == 0


def test_a_body_over_the_limit_without_content_length_is_a_413(api, org, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    customer = CustomerFactory(organization=org)
    body = json.dumps({"externalId": "K-1", "email": "a@client.example", "firstName": "x" * 300})

    response = api.generic("POST", url(customer), body, content_type="application/json", CONTENT_LENGTH="")

    assert response.status_code in (400, 413)  # without a length, Django reads nothing: never a 500
    assert Contact.objects.count() == 0


@pytest.mark.parametrize("body", ["{not json", '{"email": NaN}', "[" * 100_000 + "]" * 100_000])
def test_malformed_json_is_a_400_in_json(api, org, body):
    customer = CustomerFactory(organization=org)

    response = api.generic("POST", url(customer), body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["message"].startswith("The request body is not valid JSON")


def test_a_body_that_is_not_json_is_a_415(api, org):
    customer = CustomerFactory(organization=org)

    response = api.generic(
        "POST", url(customer), "externalId=K-1", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert set(response.json()) == {"message", "errors"}


def test_an_unknown_api_route_is_a_404_in_json(api):
    response = api.get("/api/v1/contact")

    assert response.status_code == 404
    assert response.json() == {"message": NO_SUCH_ENDPOINT, "errors": {}}


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/v1/nope"), ("get", "/api/v1/customers/"), ("post", "/api/x")]
)
def test_an_unknown_api_route_is_json_even_in_debug_where_django_shows_its_url_list(
    api, settings, method, path
):
    settings.DEBUG = True

    response = getattr(api, method)(path)

    assert response.status_code == 404
    assert response.json() == {"message": NO_SUCH_ENDPOINT, "errors": {}}


def test_pages_outside_the_api_keep_djangos_404(client):
    response = client.get("/not-a-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unexpected_error_is_a_500_in_json(api, org, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("contacts.api.customers.CustomerList.get", broken)
    api.raise_request_exception = False

    response = api.get("/api/v1/customers")

    assert response.status_code == 500
    assert set(response.json()) == {"message", "errors"}


@pytest.mark.parametrize(
    ("route", "allowed"),
    [
        ("/api/v1/contacts/bulk", {"POST", "OPTIONS"}),
        ("/api/v1/customers/1/contacts/2", {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}),
    ],
)
def test_options_answers_what_allow_lists_without_a_key(client, route, allowed):
    response = client.options(route)

    assert response.status_code == 204
    assert set(response.headers["Allow"].split(", ")) == allowed


def test_a_method_the_url_does_not_take_is_a_405_in_json_with_allow(api, org):
    response = api.get("/api/v1/contacts/bulk")

    assert response.status_code == 405
    assert set(response.json()) == {"message", "errors"}
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


@pytest.mark.parametrize(
    "route",
    ["/api/v1/customers", "/api/v1/customers/1/contacts/2", "/api/v1/contacts", "/api/schema/", "/api/docs/"],
)
def test_options_answers_on_every_url_even_with_a_wrong_key_or_a_query(client, route):
    plain = client.options(route)
    wrong_key = client.options(route, HTTP_X_API_KEY="nope.wrong")
    with_query = client.options(f"{route}?email=a@b.example")

    for response in (plain, wrong_key, with_query):
        assert response.status_code == 204, (route, response.content[:200])
        assert "OPTIONS" in response.headers["Allow"].split(", ")
        assert response.content == b""


def test_a_cors_preflight_is_answered_without_a_key_and_allows_no_other_site(client):
    response = client.options(
        "/api/v1/customers/1/contacts/2",
        HTTP_ORIGIN="https://erp.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key, content-type",
    )
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert response.status_code == 204
    assert not any(name.lower().startswith("access-control-") for name in response.headers)
    assert "CORS" in schema["info"]["description"]


@pytest.mark.parametrize("route", ["/api/schema/", "/api/docs/"])
def test_a_method_the_schema_or_docs_do_not_take_is_a_405_in_json_with_allow(client, route):
    response = client.generic("TRACE", route)

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"message", "errors"}
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


@pytest.mark.parametrize(("email", "character"), [("a!b@example.com", "!"), ("anne#roux@example.com", "#")])
def test_an_address_the_mail_provider_refuses_is_a_400_naming_the_character(api, org, email, character):
    customer = CustomerFactory(organization=org)
    existing = ContactFactory(customer=customer, email="kept@example.com")
    base = f"/api/v1/customers/{customer.pk}/contacts"

    created = api.post(base, {"externalId": "K-NEW", "email": email}, format="json")
    upserted = api.put(f"{base}/external:K-PUT", {"email": email}, format="json")
    patched = api.patch(f"{base}/{existing.pk}", {"email": email}, format="json")

    message = str(EMAIL_REFUSED_BY_PROVIDER.format(email=email, character=character))
    for response in (created, upserted, patched):
        assert response.status_code == 400
        assert response.json()["errors"] == {"email": [message]}
    assert list(Contact.objects.values_list("email", flat=True)) == ["kept@example.com"]


def test_an_address_with_every_character_the_provider_accepts_is_taken(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(
        f"/api/v1/customers/{customer.pk}/contacts",
        {"externalId": "K-1", "email": "o'neil.a_b+c-d@example.com"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["email"] == "o'neil.a_b+c-d@example.com"


def test_a_method_not_taken_is_a_405_whatever_its_query(api):
    response = api.generic("TRACE", "/api/v1/contacts?email=x&nonsense=1")

    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
