"""Thin views: resolve the key's organization, parse, call a service or the import rules, serialize."""

import datetime
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from contacts.api.authentication import MISSING_KEY, request_organization
from contacts.api.lookups import REF_DESCRIPTION, REF_PATTERN, contact_for, customer_for, ref_filter
from contacts.api.pagination import OffsetLimitPagination
from contacts.api.serializers import (
    ContactSerializer,
    ContactUpsertSerializer,
    ContactWriteSerializer,
    CustomerSerializer,
    ErrorSerializer,
)
from contacts.importing.rules import CONTACT_OF_ANOTHER_CUSTOMER
from contacts.models import Contact
from contacts.normalization import normalize_email, normalize_phone
from contacts.services import (
    contact_create,
    contact_delete,
    contact_update,
    ensure_contacts_managed,
    lock_customer,
)
from customers.models import Customer

EXTERNAL_ID_MISMATCH = 'The body\'s externalId "{body}" differs from the one in the URL, "{url}".'
EMAIL_REQUIRED = "This field is required to create a contact."
CONTACT_GONE = "This contact was deleted by another request."
UPDATED_SINCE_OUT_OF_RANGE = "This date is out of range."


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


class CustomerFilters(serializers.Serializer):
    externalId = serializers.CharField(required=False, help_text="Exact external identification code.")


class UpdatedSinceField(serializers.DateTimeField):
    """A date and time whose offset's `+` may arrive as a space: a URL's bare `+` is one."""

    BARE_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")

    def to_internal_value(self, value):
        if isinstance(value, str):
            value = self.BARE_PLUS.sub(r"\1+\2", value)
        return super().to_internal_value(value)


class ContactFilters(serializers.Serializer):
    email = serializers.CharField(required=False, help_text="Exact email address (case does not matter).")
    externalId = serializers.CharField(required=False, help_text="Exact identifier code of the contact.")
    customerExternalId = serializers.CharField(required=False, help_text="The customer's external code.")
    updatedSince = UpdatedSinceField(
        required=False,
        default_timezone=datetime.UTC,
        help_text=(
            "Only contacts changed at or after this ISO 8601 date and time, e.g. 2026-01-01T00:00:00Z; "
            "without an offset it is UTC, like every date of the API. Write + as %2B in a URL (a bare + "
            "in an offset is read as one anyway)."
        ),
    )

    def validate_updatedSince(self, value):
        try:
            value.timestamp()
        except (OverflowError, ValueError):
            raise serializers.ValidationError(UPDATED_SINCE_OUT_OF_RANGE) from None
        return value


def _filters(serializer_class, request) -> dict:
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


def contacts_of(organization) -> QuerySet:
    return Contact.objects.filter(organization=organization).select_related("customer").order_by("id")


class CustomerList(OrganizationAPIView):
    serializer_class = CustomerSerializer

    @extend_schema(
        summary="List your customers",
        parameters=[CustomerFilters],
        responses={200: CustomerSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request):
        filters = _filters(CustomerFilters, request)
        customers = Customer.objects.filter(organization=self.organization).order_by("id")
        if "externalId" in filters:
            customers = customers.filter(external_id=filters["externalId"])
        return self.page(customers)


class CustomerDetail(OrganizationAPIView):
    serializer_class = CustomerSerializer
    pagination_class = None

    @extend_schema(
        summary="Get a customer",
        parameters=[CUSTOMER_REF],
        responses={200: CustomerSerializer, **READ_ERRORS},
    )
    def get(self, request, id):
        return Response(CustomerSerializer(self.customer()).data)


def _changes(contact: Contact, values: dict) -> dict:
    """The values that differ from the contact's, compared in stored form (so a repeat is a no-op)."""
    region = contact.organization.default_phone_region
    changes = {}
    for field, value in values.items():
        stored_form = value
        try:
            if field == "email":
                stored_form = normalize_email(value)
            elif field == "phone":
                stored_form = normalize_phone(value, region)
            elif isinstance(value, str):
                stored_form = value.strip()
        except DjangoValidationError:
            pass  # the service says what is wrong with it
        if stored_form != getattr(contact, field):
            changes[field] = value
    return changes


@transaction.atomic
def _update(contact: Contact, values: dict) -> Contact:
    """Apply the values that change something, to the contact as it is once its customer is locked.

    Read again under the lock: a copy read before a concurrent request promoted another contact
    would still say "main" and take it back when saved whole.
    """
    lock_customer(contact.customer_id)
    contact = Contact.objects.select_related("customer", "organization").filter(pk=contact.pk).first()
    if contact is None:
        raise NotFound(CONTACT_GONE)
    changes = _changes(contact, values)
    if changes:
        contact = contact_update(contact=contact, **changes)
    return contact


class CustomerContacts(OrganizationAPIView):
    serializer_class = ContactSerializer

    @extend_schema(
        summary="List a customer's contacts",
        parameters=[CUSTOMER_REF],
        responses={200: ContactSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request, id):
        return self.page(contacts_of(self.organization).filter(customer=self.customer()))

    @extend_schema(
        summary="Create a contact",
        parameters=[CUSTOMER_REF],
        request=ContactWriteSerializer,
        responses={201: ContactSerializer, **WRITE_ERRORS},
    )
    def post(self, request, id):
        customer = self.customer()
        ensure_contacts_managed(self.organization)
        body = self.parsed(ContactWriteSerializer)
        contact = contact_create(
            organization=self.organization,
            customer=customer,
            source=Contact.Source.API,
            **body.service_values(),
        )
        location = f"{request.path}/{contact.pk}"
        return Response(
            ContactSerializer(contact).data, status=status.HTTP_201_CREATED, headers={"Location": location}
        )


class CustomerContactDetail(OrganizationAPIView):
    serializer_class = ContactSerializer
    pagination_class = None

    def contact(self, customer: Customer | None = None) -> Contact:
        return contact_for(customer=customer or self.customer(), ref=self.kwargs["contactId"])

    @extend_schema(
        summary="Get a contact",
        parameters=[CUSTOMER_REF, CONTACT_REF],
        responses={200: ContactSerializer, **READ_ERRORS},
    )
    def get(self, request, id, contactId):
        return Response(ContactSerializer(self.contact()).data)

    @extend_schema(
        summary="Change some of a contact's fields",
        parameters=[CUSTOMER_REF, CONTACT_REF],
        request=ContactWriteSerializer(partial=True),
        responses={200: ContactSerializer, **WRITE_ERRORS},
    )
    def patch(self, request, id, contactId):
        contact = self.contact()
        ensure_contacts_managed(self.organization)
        body = self.parsed(ContactWriteSerializer, partial=True)
        return Response(ContactSerializer(_update(contact, body.service_values())).data)

    @extend_schema(
        summary="Create or update a contact by its identifier code (idempotent)",
        description=(
            "With `external:EXTERNAL_ID`, creates the contact if the organization has none with this "
            "identifier code (201), otherwise updates it (200). Fields left out keep their stored values "
            "(blank for a new contact); sending the same body again changes nothing. With an internal "
            "id, updates that contact."
        ),
        parameters=[CUSTOMER_REF, CONTACT_REF],
        request=ContactUpsertSerializer,
        responses={200: ContactSerializer, 201: ContactSerializer, **WRITE_ERRORS},
    )
    def put(self, request, id, contactId):
        customer = self.customer()
        lookup = ref_filter(contactId)
        if lookup is None or "pk" in lookup:
            contact = self.contact(customer)
            external_id = contact.external_id
        else:
            external_id = lookup["external_id"]
            contact = None
        ensure_contacts_managed(self.organization)
        body = self.parsed(ContactUpsertSerializer, partial=True)
        values = body.service_values()
        if values.setdefault("external_id", external_id) != external_id:
            raise ValidationError(
                {"externalId": [EXTERNAL_ID_MISMATCH.format(body=values["external_id"], url=external_id)]}
            )
        with transaction.atomic():
            # Under the customer's lock, two identical PUTs run one after the other: create, then no-op.
            lock_customer(customer.pk)
            if contact is None:
                contact = (
                    Contact.objects.filter(organization=self.organization, external_id=external_id)
                    .select_related("customer", "organization")
                    .first()
                )
            if contact is not None and contact.customer_id != customer.pk:
                code = contact.customer.external_id
                message = CONTACT_OF_ANOTHER_CUSTOMER.format(value=external_id, code=code)
                raise ValidationError({"externalId": [message]})  # as the bulk call and the file import say
            if contact is not None:
                return Response(ContactSerializer(_update(contact, values)).data)
            if "email" not in values:
                raise ValidationError({"email": [EMAIL_REQUIRED]})
            contact = contact_create(
                organization=self.organization, customer=customer, source=Contact.Source.API, **values
            )
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Delete a contact",
        parameters=[CUSTOMER_REF, CONTACT_REF],
        request=None,
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request, id, contactId):
        contact = self.contact()
        contact_delete(contact=contact)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactList(OrganizationAPIView):
    serializer_class = ContactSerializer

    @extend_schema(
        summary="List your organization's contacts",
        parameters=[ContactFilters],
        responses={200: ContactSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request):
        filters = _filters(ContactFilters, request)
        contacts = contacts_of(self.organization)
        if "email" in filters:
            contacts = contacts.filter(email=filters["email"].strip().lower())
        if "externalId" in filters:
            contacts = contacts.filter(external_id=filters["externalId"])
        if "customerExternalId" in filters:
            contacts = contacts.filter(customer__external_id=filters["customerExternalId"])
        if "updatedSince" in filters:
            contacts = contacts.filter(updated_at__gte=filters["updatedSince"])
        return self.page(contacts)
