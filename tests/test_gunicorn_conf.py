"""gunicorn.conf.py: what gunicorn refuses before Django sees it is still the API's JSON error body."""

import http.client
import json
import re
import runpy
from pathlib import Path

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


ROOT = Path(__file__).resolve().parent.parent


def _settings_of_gunicorn_conf() -> dict:
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_workers_are_forks_of_the_preloaded_app_replaced_after_5000_to_5500_requests():
    conf = _settings_of_gunicorn_conf()

    assert (conf["max_requests"], conf["max_requests_jitter"], conf["preload_app"]) == (5000, 500, True)


def test_env_example_documents_every_s3_setting_the_settings_read():
    read = set(re.findall(r'"(DJANGO_S3_[A-Z_]+)"', (ROOT / "contacts_site" / "settings.py").read_text()))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?(DJANGO_S3_[A-Z_]+)=", example, re.MULTILINE))

    assert read == {"DJANGO_S3_BUCKET", "DJANGO_S3_ENDPOINT_URL", "DJANGO_S3_REGION", "DJANGO_S3_PREFIX"}
    assert read <= documented
