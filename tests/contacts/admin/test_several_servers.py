"""Several app servers: two gunicorn processes on two ports, one PostgreSQL, one Redis, one worker.

Each process gets a media folder of its own, so nothing may travel through one machine's disk: the
upload made on one server is previewed and confirmed on the other, and a background import started
on one is followed from the other.
"""

import re
import time

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from contacts.models import Contact, ImportBatch, ImportUpload
from tests.factories import CustomerFactory, UserFactory
from tests.helpers import (
    contact_row,
    csv_bytes,
    free_port,
    needs_redis,
    postgresql_only,
    start_process,
    stop_process,
    wait_for_http,
)

IMPORT = "/admin/contacts/contact/import/"
REDIS_URL = "redis://127.0.0.1:6379/7"


pytestmark = [
    postgresql_only,
    needs_redis,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def servers(tmp_path):
    """Two app servers and a worker, each with its own media folder; stopped whatever happens."""
    environment = {"CACHE_URL": REDIS_URL, "CONTACT_IMPORT_BACKGROUND_ROWS": "50"}
    processes, urls = [], []
    try:
        for name in ("a", "b"):
            port = free_port()
            process = start_process(
                ["gunicorn", "contacts_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                DJANGO_MEDIA_ROOT=str(tmp_path / name),
                **environment,
            )
            processes.append(process)
            urls.append(f"http://127.0.0.1:{port}")
        worker = ["import_worker", "--no-reload", "--interval", "0.2", "--sweep-every", "0"]
        processes.append(start_process(worker, DJANGO_MEDIA_ROOT=str(tmp_path / "worker"), **environment))
        for url, process in zip(urls, processes, strict=False):
            wait_for_http(f"{url}/admin/login/", process)
        yield urls
    finally:
        for process in processes:
            stop_process(process)


def logged_in(url: str) -> requests.Session:
    # Hashed as the servers' settings expect (the tests' own settings hash with MD5, for speed).
    hashed = PBKDF2PasswordHasher().encode("a long enough password", PBKDF2PasswordHasher().salt())
    user = UserFactory(username="support", is_superuser=True)
    type(user).objects.filter(pk=user.pk).update(password=hashed)
    session = requests.Session()
    session.get(f"{url}/admin/login/", timeout=10)
    response = session.post(
        f"{url}/admin/login/?next=/admin/",
        data={
            "username": "support",
            "password": "a long enough password",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=10,
    )
    assert response.url.endswith("/admin/"), response.text[:500]
    return session


def post(session: requests.Session, url: str, **kwargs) -> requests.Response:
    data = {"csrfmiddlewaretoken": session.cookies["csrftoken"], **kwargs.pop("data", {})}
    return session.post(url, data=data, allow_redirects=False, timeout=30, **kwargs)


def followed(session: requests.Session, base: str, status_url: str) -> dict:
    """Poll a progress page's JSON until the worker is done; returns the last answer."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = session.get(f"{base}{status_url}", timeout=10).json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.3)
    raise AssertionError(f"still {state} after 60 s")


def key_of(page: str) -> dict:
    return dict(re.findall(r'name="(organization|file|sha256)" value="([^"]+)"', page))


def test_upload_on_one_server_preview_and_confirm_on_the_other(servers, org, tmp_path):
    a, b = servers
    customer = CustomerFactory(organization=org)
    session = logged_in(a)
    small = csv_bytes([contact_row(customer, f"S-{i}", f"s{i}@client.example") for i in range(5)])

    uploaded = post(session, f"{a}{IMPORT}", data={"organization": org.pk}, files={"file": ("s.csv", small)})
    preview = session.get(f"{b}{uploaded.headers['Location']}", timeout=30)
    confirmed = post(session, f"{b}{IMPORT}confirm/", data=key_of(preview.text))

    assert uploaded.status_code == 302
    assert preview.status_code == 200
    assert 'id="confirm-import"' in preview.text
    assert confirmed.status_code == 302
    assert Contact.objects.filter(organization=org).count() == 5
    assert not ImportUpload.objects.exists()
    # The upload went through the database: server a kept no file; b holds only the committed import's.
    assert not [path for path in (tmp_path / "a").rglob("*") if path.is_file()]
    assert [path.parts[-4] for path in (tmp_path / "b").rglob("*.csv")] == ["contact-imports"]


def test_a_background_import_started_on_one_server_is_followed_from_the_other(servers, org):
    a, b = servers
    customer = CustomerFactory(organization=org)
    session = logged_in(a)
    big = csv_bytes([contact_row(customer, f"B-{i}", f"b{i}@client.example") for i in range(300)])

    uploaded = post(session, f"{b}{IMPORT}", data={"organization": org.pk}, files={"file": ("b.csv", big)})
    to_progress = session.get(f"{a}{uploaded.headers['Location']}", allow_redirects=False, timeout=30)
    progress_url = to_progress.headers["Location"]
    previewed = followed(session, b, f"{progress_url}status.json")
    preview = session.get(f"{a}{previewed['next']}", timeout=30)
    confirmed = post(session, f"{b}{IMPORT}confirm/", data=key_of(preview.text))
    committed = followed(session, a, f"{confirmed.headers['Location']}status.json")

    assert "/progress/preview/" in progress_url
    assert previewed["status"] == "done"
    assert 'id="total-new">300<' in preview.text
    assert committed["status"] == "done"
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.new) == ("committed", 300)
    assert Contact.objects.filter(organization=org).count() == 300
