"""API keys: `X-Api-Key: KEY` or `Authorization: Api-Key KEY`; a key acts for its organization only."""

from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework_api_key.permissions import KeyParser

from customers.models import Organization, OrganizationAPIKey

KEY_HEADER = "X-Api-Key"
INVALID_KEY = "This API key is not valid: it is wrong, revoked or expired."
MISSING_KEY = f"Send your API key in the {KEY_HEADER} header (or as Authorization: Api-Key KEY)."


def key_from_request(request: HttpRequest) -> str | None:
    key = request.META.get("HTTP_X_API_KEY") or KeyParser().get_from_authorization(request)
    return (key or "").strip() or None


class APIKeyUser:
    """Stands for the key's organization where DRF expects a user (throttling, logging)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: OrganizationAPIKey):
        self.api_key = api_key
        self.pk = self.id = api_key.pk

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix} of {self.api_key.organization.slug}"


class OrganizationAPIKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        key = key_from_request(request)
        if key is None:
            return None
        try:
            api_key = OrganizationAPIKey.objects.get_from_key(key)
        except OrganizationAPIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(INVALID_KEY) from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        api_key.record_use()
        return APIKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        # Its presence turns "not authenticated" into a 401 rather than a 403.
        return "Api-Key"


class HasOrganizationAPIKey(BasePermission):
    message = MISSING_KEY

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, OrganizationAPIKey)


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
