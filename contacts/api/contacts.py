"""Contacts, one at a time: views parse, call a service of contacts.services.contacts, serialize."""

import datetime
import re

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from contacts.api.base import (
    CONTACT_REF,
    CUSTOMER_REF,
    READ_ERRORS,
    WRITE_ERRORS,
    OrganizationAPIView,
    query_filters,
)
from contacts.api.lookups import contact_for, ref_filter
from contacts.api.serializers import ContactSerializer, ContactUpsertSerializer, ContactWriteSerializer
from contacts.models import Contact
from contacts.selectors import contacts_of
from contacts.services.changelog import Actor
from contacts.services.contacts import contact_create, contact_delete, contact_update, contact_upsert
from customers.models import Customer

EXTERNAL_ID_MISMATCH = 'The body\'s externalId "{body}" differs from the one in the URL, "{url}".'
UPDATED_SINCE_OUT_OF_RANGE = "This date is out of range."


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
        body = self.parsed(ContactWriteSerializer)
        contact = contact_create(
            organization=self.organization,
            customer=customer,
            actor=Actor.api_key(request.auth),
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
        body = self.parsed(ContactWriteSerializer, partial=True)
        return Response(
            ContactSerializer(
                contact_update(contact=contact, actor=Actor.api_key(request.auth), **body.service_values())
            ).data
        )

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
        by_pk = lookup is None or "pk" in lookup
        external_id = self.contact(customer).external_id if by_pk else lookup["external_id"]
        values = self.parsed(ContactUpsertSerializer, partial=True).service_values()
        body_id = values.pop("external_id", external_id)
        if body_id != external_id:
            raise ValidationError(
                {"externalId": [EXTERNAL_ID_MISMATCH.format(body=body_id, url=external_id)]}
            )
        contact, created = contact_upsert(
            organization=self.organization,
            customer=customer,
            external_id=external_id,
            values=values,
            actor=Actor.api_key(request.auth),
        )
        return Response(
            ContactSerializer(contact).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        summary="Delete a contact",
        parameters=[CUSTOMER_REF, CONTACT_REF],
        request=None,
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request, id, contactId):
        contact_delete(contact=self.contact(), actor=Actor.api_key(request.auth))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactList(OrganizationAPIView):
    serializer_class = ContactSerializer

    @extend_schema(
        summary="List your organization's contacts",
        parameters=[ContactFilters],
        responses={200: ContactSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request):
        filters = query_filters(ContactFilters, request)
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
