import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from customers.models import OrganizationAPIKey
from tests.factories import OrganizationFactory


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Throttle counts live in the cache, which outlives a test's database transaction.
    cache.clear()
    yield
    cache.clear()


def api_key_for(organization, name: str = "Tests") -> str:
    return OrganizationAPIKey.objects.create_key(organization=organization, name=name)[1]


def client_for(organization) -> APIClient:
    """A client that sends a fresh key of `organization` in the X-Api-Key header."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key_for(organization))
    return client


@pytest.fixture
def api(org) -> APIClient:
    """A client authenticated with an API key of `org` (contacts managed here)."""
    return client_for(org)


@pytest.fixture
def synced_api(synced_org) -> APIClient:
    return client_for(synced_org)


@pytest.fixture
def other_org():
    return OrganizationFactory()
