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

from contacts.api.authentication import INVALID_KEY, MISSING_KEY
from contacts.management.commands.seed_demo import DEMO_API_KEY_NAME
from customers.management.commands.create_api_key import NO_SUCH_ORGANIZATION
from customers.models import Organization, OrganizationAPIKey
from tests.factories import CustomerFactory, OrganizationFactory
from tests.helpers import api_key_for

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
    assert 0 < int(throttled.headers["Retry-After"]) <= 60
    assert set(throttled.json()) == {"message", "errors"}
    assert "throttled" in throttled.json()["message"].lower()
    assert client.get(CUSTOMERS, HTTP_X_API_KEY=other_key).status_code == 200


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


def test_admin_shows_a_new_key_once_and_stores_its_hash(superuser_client, org, client):
    response = superuser_client.post(
        "/admin/customers/organizationapikey/add/", {"name": "ERP", "organization": org.pk}
    )

    assert response.status_code == 302
    stored = OrganizationAPIKey.objects.get(organization=org)
    [message] = [str(m) for m in get_messages(response.wsgi_request) if " is: " in str(m)]
    key = message.split(" is: ")[1].split(". ")[0]
    assert key.startswith(stored.prefix + ".")
    assert client.get(CUSTOMERS, HTTP_X_API_KEY=key).status_code == 200
    # Shown on the page after the creation, never again.
    secret = key.split(".", 1)[1]
    assert superuser_client.get("/admin/customers/organizationapikey/").content.decode().count(secret) == 1
    page = superuser_client.get(f"/admin/customers/organizationapikey/{stored.pk}/change/")
    assert secret not in page.content.decode()


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


def _redis_answers() -> bool:
    try:
        return redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="needs Redis on 127.0.0.1:6379")
def test_with_a_redis_cache_the_counts_are_shared_by_every_server_process(client, settings, org):
    database = redis.Redis(host="127.0.0.1", port=6379, db=15)
    prefix = f"throttle-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": prefix,
        }
    }
    settings.API_THROTTLE_RATE = "2/min"
    key = api_key_for(org)
    try:
        statuses = [client.get(CUSTOMERS, HTTP_X_API_KEY=key).status_code for _ in range(3)]

        # What another worker would read: the key's count is in Redis, not in this process.
        stored = database.keys(f"{prefix}:*throttle_api_key_*")
        assert statuses == [200, 200, 429]
        assert len(stored) == 1
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
