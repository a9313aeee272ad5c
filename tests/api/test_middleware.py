"""X-Request-Id: echoed when the client sends a sensible one, made up otherwise, and on every log line."""

import logging

import pytest

pytestmark = pytest.mark.django_db


def test_a_clients_request_id_is_echoed(api):
    response = api.get("/api/v1/customers", HTTP_X_REQUEST_ID="erp-42:retry.1")

    assert response.headers["X-Request-Id"] == "erp-42:retry.1"


@pytest.mark.parametrize("sent", [None, "", "with space", "x" * 129, "<script>"])
def test_a_missing_or_unusable_request_id_is_replaced_by_a_new_one(api, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    first = api.get("/api/v1/customers", **headers).headers["X-Request-Id"]
    second = api.get("/api/v1/customers", **headers).headers["X-Request-Id"]

    assert len(first) == 32
    assert first != second
    assert first != sent


def test_errors_and_pages_outside_the_api_carry_a_request_id_too(client):
    assert client.get("/api/v1/customers").headers["X-Request-Id"]
    assert client.get("/api/nothing-here").headers["X-Request-Id"]
    assert client.get("/admin/login/").headers["X-Request-Id"]


def test_each_api_request_is_logged_once_with_its_id_and_never_its_key(client, org, caplog):
    from tests.helpers import api_key_for

    key = api_key_for(org)
    caplog.set_level(logging.INFO, logger="contacts.api.access")

    client.get("/api/v1/customers?limit=5", HTTP_X_API_KEY=key, HTTP_X_REQUEST_ID="req-1")

    [record] = [r for r in caplog.records if r.name == "contacts.api.access"]
    assert record.request_id == "req-1"
    line = record.getMessage()
    assert line.startswith("GET /api/v1/customers 200 ")
    assert f"organization={org.slug}" in line
    assert key.split(".")[0] not in line
    assert key.split(".")[1] not in line
