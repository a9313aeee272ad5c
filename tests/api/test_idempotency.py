"""Idempotency-Key on POST: a retry replays the first response; another request with the key is a 422."""

import datetime
import json

import pytest
from django.utils import timezone

from contacts.api.idempotency import IN_USE_RETRY_AFTER, KEY_IN_USE, KEY_INVALID, KEY_REUSED, MAX_LENGTH
from contacts.models import Contact
from customers.models import IdempotentRequest
from tests.factories import CustomerFactory
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

BODY = {"externalId": "K-1", "email": "ann@client.example"}


def post(api, path, body, key):
    return api.post(path, body, HTTP_IDEMPOTENCY_KEY=key) if key else api.post(path, body)


@pytest.fixture
def contacts_url(org):
    return f"/api/v1/customers/{CustomerFactory(organization=org).pk}/contacts"


def test_a_retried_create_replays_the_first_response_and_creates_once(api, contacts_url):
    first = post(api, contacts_url, BODY, "key-1")
    retry = post(api, contacts_url, BODY, "key-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Contact.objects.count() == 1


def test_without_a_key_a_retried_create_is_refused_as_a_duplicate(api, contacts_url):
    post(api, contacts_url, BODY, None)

    assert post(api, contacts_url, BODY, None).status_code == 400


def test_the_same_key_with_another_body_is_a_422_and_runs_nothing(api, contacts_url):
    post(api, contacts_url, BODY, "key-1")

    response = post(api, contacts_url, {**BODY, "externalId": "K-2"}, "key-1")

    assert response.status_code == 422
    assert response.json() == {"message": KEY_REUSED.format(hours=24), "errors": {}}
    assert Contact.objects.count() == 1


def test_keys_belong_to_one_api_key(org, contacts_url):
    first, second = client_for(org), client_for(org)

    created = post(first, contacts_url, BODY, "shared")
    other = post(second, contacts_url, {**BODY, "externalId": "K-2", "email": "bob@client.example"}, "shared")

    assert (created.status_code, other.status_code) == (201, 201)
    assert Contact.objects.count() == 2


def test_a_refused_request_is_replayed_too(api, contacts_url):
    invalid = {**BODY, "email": "not-an-email"}
    first = post(api, contacts_url, invalid, "key-1")

    retry = post(api, contacts_url, invalid, "key-1")

    assert (first.status_code, retry.status_code) == (400, 400)
    assert retry.json() == first.json()


def test_a_key_older_than_the_retention_is_forgotten(api, contacts_url, settings):
    settings.IDEMPOTENCY_KEY_HOURS = 24
    post(api, contacts_url, BODY, "key-1")
    IdempotentRequest.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))

    response = post(api, contacts_url, {**BODY, "externalId": "K-2", "email": "b@client.example"}, "key-1")

    assert response.status_code == 201
    assert IdempotentRequest.objects.count() == 1


def test_a_key_still_being_answered_is_a_409_with_retry_after(api, contacts_url):
    post(api, contacts_url, BODY, "key-1")
    IdempotentRequest.objects.update(status=None, body=None)  # as if the first were still running

    response = post(api, contacts_url, BODY, "key-1")

    assert response.status_code == 409
    assert response.json()["message"] == KEY_IN_USE
    assert response.headers["Retry-After"] == str(IN_USE_RETRY_AFTER)
    assert Contact.objects.count() == 1


def test_the_same_json_in_another_key_order_and_spacing_is_the_same_request(api, contacts_url):
    first = api.post(
        contacts_url,
        '{"externalId": "K-1", "email": "ann@client.example"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )
    retry = api.post(
        contacts_url,
        '{\n  "email":"ann@client.example",\t"externalId" : "K-1"\n}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Contact.objects.count() == 1


def test_the_same_keys_with_another_value_are_another_request(api, contacts_url):
    post(api, contacts_url, BODY, "key-1")

    response = api.post(
        contacts_url,
        '{"email": "ann@client.example", "externalId": "K-1", "firstName": "Ann"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )

    assert response.status_code == 422
    assert Contact.objects.get().first_name == ""


@pytest.mark.parametrize("key", ["", "x" * (MAX_LENGTH + 1), "clé"])
def test_an_unusable_key_is_a_400(api, contacts_url, key):
    response = api.post(contacts_url, BODY, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert response.json()["errors"] == {"Idempotency-Key": [KEY_INVALID.format(limit=MAX_LENGTH)]}
    assert not Contact.objects.exists()


def test_a_retried_bulk_call_replays_its_results(api, org):
    customer = CustomerFactory(organization=org)
    items = [{"customerExternalId": customer.external_id, "externalId": "K-1", "email": "a@client.example"}]

    first = post(api, "/api/v1/contacts/bulk", items, "bulk-1")
    Contact.objects.update(first_name="Changed since")
    retry = post(api, "/api/v1/contacts/bulk", items, "bulk-1")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert first.json()["totals"]["new"] == 1
    assert Contact.objects.get().first_name == "Changed since"


def test_a_server_error_is_not_stored_so_a_retry_runs_again(api, contacts_url, monkeypatch):
    import contacts.api.contacts as views

    real = views.contact_create
    monkeypatch.setattr(views, "contact_create", lambda **kwargs: 1 / 0)
    api.raise_request_exception = False
    failed = post(api, contacts_url, BODY, "key-1")
    monkeypatch.setattr(views, "contact_create", real)

    retried = post(api, contacts_url, BODY, "key-1")

    assert (failed.status_code, retried.status_code) == (500, 201)
    assert json.loads(retried.content)["externalId"] == "K-1"
