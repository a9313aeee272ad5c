import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_django(code: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "contacts_site.settings", "DJANGO_ENV_FILE": ""}, **env_overrides)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_mode_without_secret_key_fails_loudly():
    result = run_django("print('started')", DJANGO_DEBUG="false")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "started" not in result.stdout


def test_debug_off_is_the_default_so_a_missing_secret_fails_too():
    result = run_django("print('started')")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_mode_with_secret_key_starts():
    result = run_django(
        "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS)",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="contacts.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['contacts.example.com']"


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        ("postgres://postgres@127.0.0.1:5432/contacts", "django.db.backends.postgresql"),
        ("sqlite:////tmp/contacts-test.sqlite3", "django.db.backends.sqlite3"),
    ],
)
def test_database_url_selects_the_engine(url, engine):
    result = run_django(
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])",
        DJANGO_DEBUG="true",
        DATABASE_URL=url,
    )

    assert result.stdout.strip() == engine, result.stderr


def test_unknown_organization_exits_2_on_the_command_line(tmp_path):
    env = {**os.environ, "DJANGO_DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert manage("migrate", "--noinput").returncode == 0
    result = manage("disconnect_contacts", "--organization", "no-such-org", "--yes")

    assert result.returncode == 2, result.stderr
    assert 'No organization has the slug "no-such-org".' in result.stderr
    assert "Traceback" not in result.stderr


def test_login_throttling_and_the_proxy_count_come_from_the_environment():
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.TRUSTED_PROXY_COUNT, "
        "s.REST_FRAMEWORK['NUM_PROXIES'])",
        DJANGO_DEBUG="true",
        LOGIN_FAILURE_LIMIT="5",
        LOGIN_LOCKOUT_MINUTES="30",
        DJANGO_BEHIND_PROXY="true",
        DJANGO_PROXY_COUNT="2",
    )

    assert result.stdout.strip() == "5 1800.0 2 2", result.stderr


def test_without_a_proxy_no_forwarded_address_is_trusted_and_behind_one_the_nearest_is():
    code = (
        "from django.conf import settings as s; print(s.TRUSTED_PROXY_COUNT, s.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    direct = run_django(code, DJANGO_DEBUG="true")
    proxied = run_django(
        code,
        DJANGO_DEBUG="true",
        DJANGO_BEHIND_PROXY="true",
    )

    assert direct.stdout.strip() == "0 0", direct.stderr
    assert proxied.stdout.strip() == "1 1", proxied.stderr


def test_committed_files_go_to_an_s3_compatible_bucket_when_one_is_configured():
    code = (
        "from django.core.files.storage import storages; s = storages['default']; "
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.location, s.default_acl, s.file_overwrite)"
    )

    s3 = run_django(
        code,
        DJANGO_DEBUG="true",
        DJANGO_S3_BUCKET="contacts-imports",
        DJANGO_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        DJANGO_S3_PREFIX="prod",
    )
    local = run_django(
        "from django.core.files.storage import storages; s = storages['default']; print(type(s).__name__)",
        DJANGO_DEBUG="true",
    )

    assert s3.stdout.split() == [
        "S3Storage",
        "contacts-imports",
        "http://127.0.0.1:9000",
        "prod",
        "private",
        "False",
    ]
    assert local.stdout.split() == ["FileSystemStorage"]
