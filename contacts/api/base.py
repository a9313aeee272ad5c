"""What every endpoint shares: the key's organization, parsing, paging, and the documented errors."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from contacts.api.authentication import MISSING_KEY, request_organization
from contacts.api.lookups import REF_DESCRIPTION, REF_PATTERN, customer_for
from contacts.api.pagination import OffsetLimitPagination
from contacts.api.serializers import ErrorSerializer
from customers.models import Customer


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


READ_ERRORS = {
    400: _error("Invalid query parameters."),
    401: _error("Missing, wrong or revoked API key."),
    404: _error("No such object in your organization."),
    429: _error("Too many requests for this API key; retry after `Retry-After` seconds."),
}
WRITE_ERRORS = {
    **READ_ERRORS,
    400: _error("Invalid values."),
    409: _error("Contacts are still synced from invoicing, or a concurrent change conflicted."),
    413: _error("The request body is too large."),
    415: _error("The body is not JSON."),
}
CUSTOMER_REF = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description=REF_DESCRIPTION, pattern=REF_PATTERN
)
CONTACT_REF = OpenApiParameter(
    "contactId", OpenApiTypes.STR, OpenApiParameter.PATH, description=REF_DESCRIPTION, pattern=REF_PATTERN
)


def query_filters(serializer_class, request) -> dict:
    """The request's query parameters checked by `serializer_class` (400 with every problem at once)."""
    filters = serializer_class(data=request.query_params)
    if not filters.is_valid():
        raise ValidationError(filters.errors)
    return filters.validated_data


class OrganizationAPIView(GenericAPIView):
    """Everything is read through `self.organization`, the API key's: another's objects are 404."""

    pagination_class = OffsetLimitPagination
    metadata_class = None  # OPTIONS answers 405: the schema at /api/schema/ describes the API

    def permission_denied(self, request, message=None, code=None):
        if not request.successful_authenticator:
            raise NotAuthenticated(MISSING_KEY)
        super().permission_denied(request, message, code)

    @property
    def organization(self):
        return request_organization(self.request)

    def parsed(self, serializer_class, *, partial: bool = False):
        """The request's body checked by `serializer_class` (400 with every problem at once)."""
        context = {"organization": self.organization}
        body = serializer_class(data=self.request.data, partial=partial, context=context)
        body.is_valid(raise_exception=True)
        return body

    def customer(self) -> Customer:
        return customer_for(organization=self.organization, ref=self.kwargs["id"])

    def page(self, queryset: QuerySet) -> Response:
        contacts = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(contacts, many=True).data)
