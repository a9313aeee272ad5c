"""API keys: `X-Api-Key: KEY` or `Authorization: Api-Key KEY`; a key acts for its organization only.

Wrong keys are counted per client address (`API_AUTH_FAILURE_RATE`): past the rate, every wrong key
from that address is a 429 until the window ends. Only a key found wrong is counted and refused, so
a right key is never refused for the failures of its address (a misconfigured client behind the
same NAT, or someone guessing at an organization's key, must not lock its integrations out). The
key is looked up first (one indexed query and a SHA-512): answering 429 without the look-up would
mean refusing right keys too. Guessing stays hopeless at any speed (32 random characters, 190 bits
after a prefix); the count keeps a flood of wrong keys noisy and its cost bounded. Each failure is
counted by one atomic increment whose result decides the answer, so concurrent wrong keys cannot
slip past the limit.
"""

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework_api_key.permissions import KeyParser

from contacts.api.ratelimits import configured, digest, hit, peek
from contacts.api.throttling import RateLimited, remember_window
from contacts_site.logins import client_ip
from customers.models import Organization, OrganizationAPIKey

KEY_HEADER = "X-Api-Key"
FAILURE_SCOPE = "auth-failures"
INVALID_KEY = _("This API key is not valid: it is wrong, revoked or expired.")
MISSING_KEY = _("Send your API key in the X-Api-Key header (or as Authorization: Api-Key KEY).")
TOO_MANY_FAILURES = _(
    "Too many requests with a wrong API key came from your address; retry in {wait} second(s)."
)
READ_ONLY_KEY = _(
    "This API key is read-only: it can list and read, not create, change or delete. Use a key "
    "that is not read-only for writes."
)


def key_from_request(request: HttpRequest) -> str | None:
    key = request.META.get("HTTP_X_API_KEY") or KeyParser().get_from_authorization(request)
    return (key or "").strip() or None


def client_address(request) -> str:
    """The client's IP address, read as the login throttle reads it (one rule for both)."""
    return client_ip(request) or "unknown"


def failure_window_headers(request) -> None:
    """A request without a valid key still says where its address stands against the failure rate."""
    window = peek(configured("API_AUTH_FAILURE_RATE"), FAILURE_SCOPE, digest(client_address(request)))
    remember_window(request, window)


class APIKeyUser:
    """Stands for the key's organization where DRF expects a user (throttling, logging)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: OrganizationAPIKey):
        self.api_key = api_key
        self.pk = self.id = api_key.pk

    def __str__(self) -> str:
        return f"API key {self.api_key.name!r} of {self.api_key.organization.slug}"


class OrganizationAPIKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        key = key_from_request(request)
        if key is None:
            return None
        try:
            api_key = OrganizationAPIKey.objects.get_from_key(key)
        except OrganizationAPIKey.DoesNotExist:
            api_key = None
        if api_key is None or api_key.has_expired:
            self.refuse_wrong_key(request)
        api_key.record_use()
        return APIKeyUser(api_key), api_key

    @staticmethod
    def refuse_wrong_key(request) -> None:
        """401, or 429 once the client's address sent more wrong keys than its rate allows."""
        window = hit(configured("API_AUTH_FAILURE_RATE"), FAILURE_SCOPE, digest(client_address(request)))
        remember_window(request, window)
        if window.exceeded:
            raise RateLimited(window.reset, TOO_MANY_FAILURES.format(wait=window.reset))
        raise exceptions.AuthenticationFailed(INVALID_KEY)

    def authenticate_header(self, request) -> str:
        # Its presence turns "not authenticated" into a 401 rather than a 403.
        return "Api-Key"


class HasOrganizationAPIKey(BasePermission):
    """A valid key; a read-only one for reads only. OPTIONS (what a URL allows) needs no key."""

    message = MISSING_KEY

    def has_permission(self, request, view) -> bool:
        if request.method == "OPTIONS":
            return True
        if not isinstance(request.auth, OrganizationAPIKey):
            return False
        if request.auth.read_only and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(READ_ONLY_KEY)
        return True


def request_organization(request) -> Organization:
    """The organization the request's API key belongs to: every query is filtered by it."""
    return request.auth.organization


class OrganizationAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = OrganizationAPIKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": KEY_HEADER,
            "description": "Your organization's API key (also accepted: `Authorization: Api-Key KEY`).",
        }
