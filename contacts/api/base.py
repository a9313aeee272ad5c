"""What every endpoint shares: the key's organization, strict parsing, paging, rate-limit headers,
versions (ETag / If-Match) and OPTIONS."""

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from contacts.api.authentication import MISSING_KEY, failure_window_headers, request_organization
from contacts.api.docs import allowed
from contacts.api.lookups import customer_for
from contacts.api.names import query_problems
from contacts.api.pagination import OffsetLimitPagination, PageParameters
from contacts.api.ratelimits import configured
from contacts.api.throttling import RateLimited
from customers.models import Customer, OrganizationAPIKey

TOO_MANY_REQUESTS = _(
    "This API key was throttled: it sent more than {limit} requests in {period} seconds; retry in "
    "{wait} second(s)."
)
IF_MATCH_INVALID = _(
    'If-Match must be "*" or the ETag of the contact as you read it, e.g. If-Match: "1f2e3d…".'
)


def query_filters(serializer_class, request) -> dict:
    """The request's query parameters checked by `serializer_class` (400 with every problem at once)."""
    filters = serializer_class(data=request.query_params)
    if not filters.is_valid():
        raise ValidationError(filters.errors)
    return filters.validated_data


def etag(version: str) -> str:
    return f'"{version}"'


class OrganizationAPIView(GenericAPIView):
    """Reads and writes through `self.organization`, the API key's: another's objects are 404.

    `filters` names the query parameters of GET (a serializer); any other parameter is a 400.
    """

    pagination_class = OffsetLimitPagination
    filters = None

    def initial(self, request, *args, **kwargs):
        # The key is checked and counted first, so that every answer to it (a 403, a 406, a 400
        # for the query) counts and carries the rate-limit headers.
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.version, request.versioning_scheme = self.determine_version(request, *args, **kwargs)
        if request.method == "OPTIONS":
            # What a URL allows needs no key and no parameter: a CORS preflight sends neither, and
            # a wrong key or a query is no reason not to say it.
            request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(
                request, force=True
            )
            return
        self.perform_authentication(request)
        self.check_throttles(request)
        if getattr(self, request.method.lower(), None) is None:
            # 405 before anything about the body or the query: they mean nothing to a method not taken.
            self.http_method_not_allowed(request)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        self.check_permissions(request)
        problems = query_problems(request.query_params, self.query_parameter_names(request.method))
        if problems:
            raise ValidationError(problems)

    def query_parameter_names(self, method: str) -> list[str]:
        if method != "GET":
            return []
        names = list(self.filters().fields) if self.filters is not None else []
        return names + (list(PageParameters().fields) if self.pagination_class is not None else [])

    def throttled(self, request, wait):
        rate = configured("API_THROTTLE_RATE")
        raise RateLimited(wait, TOO_MANY_REQUESTS.format(limit=rate.limit, period=rate.period, wait=wait))

    def permission_denied(self, request, message=None, code=None):
        if not request.successful_authenticator:
            raise NotAuthenticated(MISSING_KEY)
        super().permission_denied(request, message, code)

    def options(self, request, *args, **kwargs):
        """What the URL allows, in `Allow`; the schema at /api/schema/ describes the rest."""
        return allowed(self)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        api_key = getattr(request, "_auth", None)
        if isinstance(api_key, OrganizationAPIKey):
            request._request.api_organization = api_key.organization.slug  # for the access log
        window = getattr(request._request, "rate_limit_window", None)
        if window is None and request.method != "OPTIONS":
            failure_window_headers(request)
            window = getattr(request._request, "rate_limit_window", None)
        for name, value in (window.headers() if window is not None else {}).items():
            response[name] = value
        return response

    @property
    def organization(self):
        return request_organization(self.request)

    def parsed(self, serializer_class, *, partial: bool = False, stored=None):
        """The request's body checked by `serializer_class` (400 with every problem at once); `stored`:
        the contact it writes to, whose values sent back as read are not checked again."""
        context = {"organization": self.organization, "stored": stored}
        body = serializer_class(data=self.request.data, partial=partial, context=context)
        body.is_valid(raise_exception=True)
        return body

    def expected_versions(self) -> list[str] | None:
        """The versions `If-Match` accepts ("*": any), or None without the header."""
        header = self.request.headers.get("If-Match")
        if header is None:
            return None
        versions = []
        for tag in (part.strip() for part in header.split(",")):
            if tag == "*":
                versions.append("*")
            elif tag.startswith("W/"):
                continue  # a weak tag never matches for a write (RFC 9110, 13.1.1)
            elif len(tag) >= 2 and tag[0] == tag[-1] == '"':
                versions.append(tag[1:-1])
            else:
                raise ValidationError({"If-Match": [IF_MATCH_INVALID]})
        return versions

    def customer(self) -> Customer:
        return customer_for(organization=self.organization, ref=self.kwargs["id"])

    def page(self, queryset: QuerySet) -> Response:
        contacts = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(contacts, many=True).data)
