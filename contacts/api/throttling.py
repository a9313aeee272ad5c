from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from customers.models import OrganizationAPIKey


class APIKeyRateThrottle(SimpleRateThrottle):
    """`API_THROTTLE_RATE` requests per API key (e.g. "600/min"); beyond it, 429 with Retry-After.

    Counts live in the default cache: with several server processes, CACHE_URL names a shared one (Redis).
    """

    scope = "api_key"

    def get_rate(self) -> str:
        # Read at each request rather than at import, so that the setting can change in tests.
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, OrganizationAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
