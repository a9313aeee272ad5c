import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import OrganizationFactory
from tests.helpers import client_for


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Throttle counts live in the cache, which outlives a test's database transaction.
    cache.clear()
    yield
    cache.clear()


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
