"""The documented production environment passes Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The production environment the README documents (secrets replaced by test values).
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k8Vq2-production-like-secret-with-enough-length-and-variety-Zx91",
    "DJANGO_ALLOWED_HOSTS": "contacts.example.com",
    "DATABASE_URL": "postgres://contacts:secret@db.internal:5432/contacts",
    "DJANGO_ENV_FILE": "",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "contacts_site.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_deploy_check_passes_with_the_documented_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_fails_with_debug_on():
    debug_on = {**PRODUCTION_ENV, "DJANGO_DEBUG": "true"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **debug_on)

    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_production_cookies_are_secure_and_http_only():
    printed = run_python(
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT)",
        **PRODUCTION_ENV,
    )

    assert printed == "True True True True"


def test_production_serves_static_files_with_whitenoise_manifest():
    printed = run_python(
        "from django.conf import settings as s; print(s.STORAGES['staticfiles']['BACKEND'])", **PRODUCTION_ENV
    )

    assert printed == "whitenoise.storage.CompressedManifestStaticFilesStorage"
