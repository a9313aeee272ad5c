import datetime
import os
import subprocess
import sys
import uuid

import pytest
import redis
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.utils import timezone

from contacts.api.authentication import INVALID_KEY, MISSING_KEY, READ_ONLY_KEY, TOO_MANY_FAILURES
from contacts.api.base import TOO_MANY_REQUESTS
from contacts.management.commands.seed_demo import DEMO_API_KEY_NAME
from contacts.models import Contact
from customers.admin import OrganizationAPIKeyAdmin
from customers.management.commands.create_api_key import NO_SUCH_ORGANIZATION
from customers.models import Organization, OrganizationAPIKey
from tests.factories import CustomerFactory, OrganizationFactory
from tests.helpers import api_key_for, needs_redis

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers"


def test_request_without_key_is_401_with_a_json_message(client, org):
    response = client.get(CUSTOMERS)

    assert response.status_code == 401
    assert response.json() == {"message": MISSING_KEY, "errors": {}}
    assert response.headers["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("key", ["wrong", "abcdefgh.wrongsecret", ""])
def test_wrong_key_is_401(client, org, key):
    api_key_for(org)

    response = client.get(CUSTOMERS, HTTP_X_API_KEY=key)

    assert response.status_code == 401
    assert response.json()["message"] in (INVALID_KEY, MISSING_KEY)


def test_a_right_prefix_with_a_wrong_secret_is_401(client, org):
    key = api_key_for(org)
    prefix = key.split(".")[0]

    response = client.get(CUSTOMERS, HTTP_X_API_KEY=f"{prefix}.not-the-secret")

    assert (response.status_code, response.json()["message"]) == (401, INVALID_KEY)


def test_revoked_key_is_401(client, org):
    key = api_key_for(org)
    OrganizationAPIKey.objects.filter(organization=org).update(revoked=True)

    response = client.get(CUSTOMERS, HTTP_X_API_KEY=key)

    assert (response.status_code, response.json()["message"]) == (401, INVALID_KEY)


def test_expired_key_is_401(client, org):
    key = api_key_for(org)
    OrganizationAPIKey.objects.filter(organization=org).update(
        expiry_date=timezone.now() - datetime.timedelta(minutes=1)
    )

    response = client.get(CUSTOMERS, HTTP_X_API_KEY=key)

    assert (response.status_code, response.json()["message"]) == (401, INVALID_KEY)


def test_x_api_key_header_is_accepted(client, org):
    CustomerFactory(organization=org)

    response = client.get(CUSTOMERS, HTTP_X_API_KEY=api_key_for(org))

    assert (response.status_code, response.json()["total"]) == (200, 1)


def test_authorization_api_key_scheme_is_accepted(client, org):
    CustomerFactory(organization=org)

    response = client.get(CUSTOMERS, HTTP_AUTHORIZATION=f"Api-Key {api_key_for(org)}")

    assert (response.status_code, response.json()["total"]) == (200, 1)


def test_another_authorization_scheme_is_401(client, org):
    response = client.get(CUSTOMERS, HTTP_AUTHORIZATION=f"Bearer {api_key_for(org)}")

    assert response.status_code == 401


def test_a_key_records_when_it_was_last_used(client, org):
    key = api_key_for(org)
    assert OrganizationAPIKey.objects.get(organization=org).last_used_at is None

    client.get(CUSTOMERS, HTTP_X_API_KEY=key)

    used_at = OrganizationAPIKey.objects.get(organization=org).last_used_at
    assert used_at is not None
    assert timezone.now() - used_at < datetime.timedelta(seconds=10)


def test_last_use_is_written_at_most_once_a_minute(client, org):
    key = api_key_for(org)
    client.get(CUSTOMERS, HTTP_X_API_KEY=key)
    first = OrganizationAPIKey.objects.get(organization=org).last_used_at

    client.get(CUSTOMERS, HTTP_X_API_KEY=key)

    assert OrganizationAPIKey.objects.get(organization=org).last_used_at == first


def test_keys_are_stored_hashed(org):
    key = api_key_for(org)
    stored = OrganizationAPIKey.objects.get(organization=org)
    secret = key.split(".", 1)[1]

    assert stored.hashed_key.startswith("sha512$$")
    for value in (stored.pk, stored.prefix, stored.hashed_key, stored.name):
        assert secret not in value


def test_throttling_is_per_key_and_answers_429_with_retry_after(client, settings, org):
    settings.API_THROTTLE_RATE = "2/min"
    key, other_key = api_key_for(org), api_key_for(org, name="Other")

    statuses = [client.get(CUSTOMERS, HTTP_X_API_KEY=key).status_code for _ in range(3)]
    throttled = client.get(CUSTOMERS, HTTP_X_API_KEY=key)

    assert statuses == [200, 200, 429]
    assert throttled.status_code == 429
    wait = int(throttled.headers["Retry-After"])
    assert 0 < wait <= 60
    assert throttled.json() == {
        "message": TOO_MANY_REQUESTS.format(limit=2, period=60, wait=wait),
        "errors": {},
    }
    assert client.get(CUSTOMERS, HTTP_X_API_KEY=other_key).status_code == 200


def test_every_answer_to_a_key_carries_its_rate_limit_headers(client, settings, org):
    settings.API_THROTTLE_RATE = "3/min"
    key = api_key_for(org)

    responses = [
        client.get(CUSTOMERS, HTTP_X_API_KEY=key),
        client.get(f"{CUSTOMERS}/999999", HTTP_X_API_KEY=key),  # a 404
        client.post(CUSTOMERS, {}, HTTP_X_API_KEY=key),  # a 405
        client.get(CUSTOMERS, HTTP_X_API_KEY=key),  # a 429
    ]

    assert [r.status_code for r in responses] == [200, 404, 405, 429]
    assert [r.headers["RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    for response in responses:
        assert response.headers["RateLimit-Limit"] == "3"
        assert response.headers["RateLimit-Policy"] == "3;w=60"
        assert 0 < int(response.headers["RateLimit-Reset"]) <= 60


def test_wrong_keys_from_one_address_are_throttled_but_a_right_key_from_it_is_not(client, settings, org):
    settings.API_AUTH_FAILURE_RATE = "3/min"
    key = api_key_for(org)

    wrong = [client.get(CUSTOMERS, HTTP_X_API_KEY=f"nope.{n}").status_code for n in range(4)]
    right = client.get(CUSTOMERS, HTTP_X_API_KEY=key)
    wrong_again = client.get(CUSTOMERS, HTTP_X_API_KEY="nope.0")

    assert wrong == [401, 401, 401, 429]
    assert right.status_code == 200
    assert wrong_again.status_code == 429
    wait = int(wrong_again.headers["Retry-After"])
    assert 0 < wait <= 60
    assert wrong_again.json()["message"] == TOO_MANY_FAILURES.format(wait=wait)


def test_a_flood_of_wrong_keys_never_locks_out_the_organizations_right_key(client, settings, org):
    settings.API_AUTH_FAILURE_RATE = "2/min"
    key = api_key_for(org)
    stored = OrganizationAPIKey.objects.get(organization=org)
    # The right prefix with wrong secrets: the guesses name the organization's own key.
    for n in range(10):
        client.get(CUSTOMERS, HTTP_X_API_KEY=f"{stored.prefix}.wrong-{n}")
        client.get(CUSTOMERS, HTTP_X_API_KEY=f"{stored.prefix}.wrong-{n}", REMOTE_ADDR="192.0.2.7")

    statuses = {
        client.get(CUSTOMERS, HTTP_X_API_KEY=key).status_code,
        client.get(CUSTOMERS, HTTP_X_API_KEY=key, REMOTE_ADDR="192.0.2.7").status_code,
        client.get(CUSTOMERS, HTTP_AUTHORIZATION=f"Api-Key {key}").status_code,
    }

    assert statuses == {200}


def test_right_keys_do_not_count_against_the_address(client, settings, org):
    settings.API_AUTH_FAILURE_RATE = "2/min"
    key = api_key_for(org)

    statuses = [client.get(CUSTOMERS, HTTP_X_API_KEY=key).status_code for _ in range(5)]
    failed = client.get(CUSTOMERS, HTTP_X_API_KEY="nope.1")

    assert statuses == [200] * 5
    assert failed.status_code == 401
    assert failed.headers["RateLimit-Remaining"] == "1"
    assert failed.headers["RateLimit-Limit"] == "2"


def test_a_request_without_key_says_where_its_address_stands(client, settings):
    settings.API_AUTH_FAILURE_RATE = "5/min"

    response = client.get(CUSTOMERS)

    assert response.status_code == 401
    assert (response.headers["RateLimit-Limit"], response.headers["RateLimit-Remaining"]) == ("5", "5")


def test_a_read_only_key_reads_but_every_write_is_a_403(client, org):
    customer = CustomerFactory(organization=org)
    key = OrganizationAPIKey.objects.create_key(organization=org, name="BI", read_only=True)[1]
    contacts = f"{CUSTOMERS}/{customer.pk}/contacts"
    body = {"externalId": "K-1", "email": "ann@client.example"}

    read = client.get(contacts, HTTP_X_API_KEY=key)
    writes = [
        client.post(contacts, body, content_type="application/json", HTTP_X_API_KEY=key),
        client.put(f"{contacts}/external:K-1", body, content_type="application/json", HTTP_X_API_KEY=key),
        client.post("/api/v1/contacts/bulk", [], content_type="application/json", HTTP_X_API_KEY=key),
    ]

    assert read.status_code == 200
    assert [(w.status_code, w.json()["message"]) for w in writes] == [(403, READ_ONLY_KEY)] * 3
    assert Contact.objects.count() == 0


def test_create_api_key_read_only_makes_a_read_only_key(capsys, org):
    call_command("create_api_key", organization=org.slug, name="BI", read_only=True)

    key = capsys.readouterr().out.strip()
    stored = OrganizationAPIKey.objects.get_from_key(key)
    assert stored.read_only is True


def test_create_api_key_command_prints_the_key_alone_on_stdout(capsys, org, client):
    call_command("create_api_key", organization=org.slug, name="ERP")

    out, err = capsys.readouterr()
    key = out.strip()
    assert out == key + "\n"
    assert "cannot be shown again" in err
    assert key not in err
    stored = OrganizationAPIKey.objects.get(organization=org)
    assert stored.name == "ERP"
    assert client.get(CUSTOMERS, HTTP_X_API_KEY=key).status_code == 200


def test_create_api_key_for_an_unknown_organization_fails_and_creates_nothing():
    with pytest.raises(CommandError) as raised:
        call_command("create_api_key", organization="nope", name="ERP")

    assert str(raised.value) == NO_SUCH_ORGANIZATION.format(slug="nope")
    assert raised.value.returncode == 2
    assert OrganizationAPIKey.objects.count() == 0


def test_admin_shows_a_new_key_once_on_a_page_never_in_a_cookie_or_url(superuser_client, org, client):
    response = superuser_client.post(
        "/admin/customers/organizationapikey/add/", {"name": "ERP", "organization": org.pk, "read_only": "on"}
    )

    assert response.status_code == 302
    stored = OrganizationAPIKey.objects.get(organization=org)
    assert stored.read_only is True
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    cookies = "".join(morsel.value for morsel in response.cookies.values())
    page = superuser_client.get(response.headers["Location"])
    assert page.status_code == 200
    assert page.headers["Cache-Control"].startswith("max-age=0")
    key = page.context["key"]
    assert key.startswith(stored.prefix + ".")
    assert OrganizationAPIKey.objects.get_from_key(key) == stored
    secret = key.split(".", 1)[1]
    assert secret in page.content.decode()
    assert secret not in response.headers["Location"] + cookies
    assert secret not in "".join(morsel.value for morsel in page.cookies.values())
    # Shown once: the same page again, the list and the key's own page never show it.
    again = superuser_client.get(response.headers["Location"])
    assert secret not in again.content.decode()
    assert str(OrganizationAPIKeyAdmin.ALREADY_SHOWN) in again.content.decode()
    assert secret not in superuser_client.get("/admin/customers/organizationapikey/").content.decode()
    change = superuser_client.get(f"/admin/customers/organizationapikey/{stored.pk}/change/")
    assert secret not in change.content.decode()


def test_admin_revoke_action_revokes_the_selected_keys(superuser_client, org, client):
    key = api_key_for(org)
    kept_key = api_key_for(org, name="Kept")
    revoked = OrganizationAPIKey.objects.get(name="Tests")

    superuser_client.post(
        "/admin/customers/organizationapikey/",
        {"action": "revoke", "_selected_action": [revoked.pk]},
    )

    assert client.get(CUSTOMERS, HTTP_X_API_KEY=key).status_code == 401
    assert client.get(CUSTOMERS, HTTP_X_API_KEY=kept_key).status_code == 200


def test_admin_lists_only_organization_keys(superuser_client):
    index = superuser_client.get("/admin/").content.decode()

    assert "/admin/customers/organizationapikey/" in index
    assert "/admin/rest_framework_api_key/" not in index


def test_seed_demo_prints_a_working_demo_key_and_replaces_the_previous_one(capsys, settings, client):
    settings.DEBUG = True

    call_command("seed_demo")
    first = capsys.readouterr().out.split("export API_KEY=")[1].split()[0]
    call_command("seed_demo")
    second = capsys.readouterr().out.split("export API_KEY=")[1].split()[0]

    acme = Organization.objects.get(slug="acme")
    assert OrganizationAPIKey.objects.filter(organization=acme, name=DEMO_API_KEY_NAME).count() == 1
    assert client.get(CUSTOMERS, HTTP_X_API_KEY=first).status_code == 401
    response = client.get(CUSTOMERS, HTTP_X_API_KEY=second)
    assert response.status_code == 200
    assert response.json()["total"] == acme.customers.count() > 0


def test_seed_demo_creates_no_key_without_debug(settings):
    settings.DEBUG = False

    call_command("seed_demo")

    assert OrganizationAPIKey.objects.count() == 0


def test_keys_of_a_deleted_organization_are_deleted_with_it(org):
    api_key_for(org)
    OrganizationFactory()

    org.delete()

    assert OrganizationAPIKey.objects.count() == 0


@needs_redis
def test_with_a_redis_cache_the_counts_are_in_redis_under_names_without_key_material(client, settings, org):
    database = redis.Redis(host="127.0.0.1", port=6379, db=5)
    prefix = f"throttle-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/5",
            "KEY_PREFIX": prefix,
        }
    }
    settings.API_THROTTLE_RATE = "2/min"
    key = api_key_for(org)
    stored_key = OrganizationAPIKey.objects.get(organization=org)
    try:
        statuses = [client.get(CUSTOMERS, HTTP_X_API_KEY=key).status_code for _ in range(3)]
        client.get(CUSTOMERS, HTTP_X_API_KEY=f"{stored_key.prefix}.wrong-secret")

        # What another worker would read: the counts are in Redis, not in this process.
        names = [name.decode() for name in database.keys(f"{prefix}:*")]
        assert statuses == [200, 200, 429]
        assert len([n for n in names if ":ratelimit:key:" in n]) == 1
        assert len([n for n in names if ":ratelimit:auth-failures:" in n]) == 1
        for material in (key, key.split(".", 1)[1], stored_key.prefix, stored_key.hashed_key):
            assert all(material not in name for name in names)
        assert all(database.ttl(name) > 0 for name in names)
    finally:
        for name in database.keys(f"{prefix}:*"):
            database.delete(name)


def test_cache_url_selects_a_shared_cache(tmp_path):
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'])",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "contacts_site.settings",
            "DJANGO_ENV_FILE": "",
            "DJANGO_DEBUG": "true",
            "CACHE_URL": "redis://127.0.0.1:6379/1",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    assert printed == ["django.core.cache.backends.redis.RedisCache", "redis://127.0.0.1:6379/1"]
