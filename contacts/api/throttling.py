"""`API_THROTTLE_RATE` requests per API key, counted exactly across server processes (ratelimits.py)."""

from rest_framework.exceptions import APIException, Throttled
from rest_framework.throttling import BaseThrottle

from contacts.api.ratelimits import Window, configured, digest, hit
from customers.models import OrganizationAPIKey

KEY_SCOPE = "key"


class RateLimited(Throttled):
    """A 429 with `Retry-After: wait` and our own message (DRF's would append its own sentence)."""

    def __init__(self, wait: int, detail: str):
        APIException.__init__(self, detail)
        self.wait = wait


def remember_window(request, window: Window) -> None:
    """Keep where the request's counter stands for the response's RateLimit-* headers."""
    request._request.rate_limit_window = window


class APIKeyRateThrottle(BaseThrottle):
    """Beyond the rate, 429 with Retry-After: the seconds until the key's window ends."""

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.auth, OrganizationAPIKey):
            return True
        self.window = hit(configured("API_THROTTLE_RATE"), KEY_SCOPE, digest(request.auth.pk))
        remember_window(request, self.window)
        return not self.window.exceeded

    def wait(self) -> int:
        return self.window.reset
