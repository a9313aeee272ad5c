"""gunicorn.conf.py: what gunicorn refuses before Django sees it is still the API's JSON error body."""

import http.client
import json

import pytest

from tests.helpers import gunicorn_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = tmp_path_factory.mktemp("gunicorn") / "db.sqlite3"
    with gunicorn_server(workers=1, env={"DATABASE_URL": f"sqlite:///{database}"}) as address:
        yield address


def _get(address, path: str, headers: dict | None = None) -> tuple[int, str, dict]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())
    finally:
        connection.close()


def test_a_url_over_the_limit_is_a_414_in_json(server):
    status, content_type, body = _get(server, "/api/v1/contacts?email=" + "x" * 5000)

    assert (status, content_type) == (414, "application/json")
    assert set(body) == {"message", "errors"}
    assert "URL is too long" in body["message"]


def test_a_header_over_the_limit_is_a_431_in_json(server):
    status, content_type, body = _get(server, "/api/v1/contacts", {"X-Padding": "y" * 9000})

    assert (status, content_type) == (431, "application/json")
    assert "headers are too large" in body["message"]


def test_a_url_within_the_limit_reaches_the_api(server):
    status, content_type, body = _get(server, "/api/v1/contacts?email=" + "x" * 3000)

    assert (status, content_type) == (401, "application/json")
    assert set(body) == {"message", "errors"}
