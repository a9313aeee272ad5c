import pytest
from django.utils import translation

from tests.factories import OrganizationFactory, UserFactory
from tests.helpers import staff_client


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # PBKDF2 costs 0.3 s a test user, and the tests check logins, not the hasher's strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Each test starts in English: commands would speak the LANGUAGE of the shell running the tests, and a
    request in French leaves French active in the thread (LocaleMiddleware activates, never deactivates)."""
    monkeypatch.delenv("LANGUAGE", raising=False)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded and stored files go to the test's own folder, never the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def org():
    """A fresh organization whose contacts are managed here."""
    return OrganizationFactory()


@pytest.fixture
def synced_org():
    """A fresh organization whose contacts still come from the invoicing sync."""
    return OrganizationFactory(synced=True)


@pytest.fixture
def superuser_client(client):
    user = UserFactory(is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def importer():
    """Staff allowed to import contacts."""
    return staff_client("import_contacts", "view_contact")


@pytest.fixture
def supervisor():
    """Staff allowed to import and to override the monthly limit."""
    return staff_client("import_contacts", "view_contact", "override_import_limit")
