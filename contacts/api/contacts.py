"""Contacts, one at a time: views parse, call a service of contacts.services.contacts, serialize."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from contacts.api.base import OrganizationAPIView, etag, query_filters
from contacts.api.filters import ContactFilters
from contacts.api.idempotency import idempotent
from contacts.api.lookups import contact_for, ref_filter
from contacts.api.schema import CONTACT_REF, CUSTOMER_REF, READ_ERRORS, WRITE_ERRORS, errors
from contacts.api.serializers import (
    ContactSerializer,
    ContactUpdateSerializer,
    ContactUpsertSerializer,
    ContactWriteSerializer,
)
from contacts.models import Contact
from contacts.selectors import contacts_of
from contacts.services.changelog import Actor
from contacts.services.contacts import (
    contact_create,
    contact_delete,
    contact_update,
    contact_upsert,
    contact_version,
)
from customers.models import Customer

EXTERNAL_ID_MISMATCH = _('The body\'s externalId "{body}" differs from the one in the URL, "{url}".')
# Writes to one contact may answer 412 when If-Match is stale.
CONTACT_WRITE_ERRORS = {**WRITE_ERRORS, **errors(412)}
SYNCED_RULE = (
    "While your organization's contacts are synced from the invoicing system, only `position` can "
    "change (anything else is a 409)."
)
VERSIONS = (
    "The response's `ETag` is the contact's version: send it back in `If-Match` to write only if "
    "nobody changed the contact since you read it (412 otherwise)."
)


def contact_response(contact: Contact, code: int = status.HTTP_200_OK) -> Response:
    """A contact with its version (ETag), and its URL (Location) when created."""
    headers = {"ETag": etag(contact_version(contact))}
    if code == status.HTTP_201_CREATED:
        headers["Location"] = reverse(
            "api:customer-contact", kwargs={"id": contact.customer_id, "contactId": contact.pk}
        )
    return Response(ContactSerializer(contact).data, status=code, headers=headers)


class CustomerContacts(OrganizationAPIView):
    serializer_class = ContactSerializer

    @extend_schema(
        operation_id="listCustomerContacts",
        tags=["contacts"],
        summary="List a customer's contacts",
        description="The contacts of one of your customers, by id order, `limit` at a time.",
        parameters=[CUSTOMER_REF],
        responses={200: ContactSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request, id):
        return self.page(contacts_of(self.organization).filter(customer=self.customer()))

    @extend_schema(
        operation_id="createContact",
        tags=["contacts"],
        summary="Create a contact",
        description=(
            "Creates a contact of this customer; `externalId` and `email` are required. `isMain: true` "
            "makes it the customer's main contact and demotes the previous one. The answer's `Location` "
            "is the new contact's URL. To create or update by your own identifier code in one call, "
            "use PUT on `.../contacts/external:CODE`."
        ),
        parameters=[CUSTOMER_REF],
        request=ContactWriteSerializer,
        responses={201: ContactSerializer, **WRITE_ERRORS, **errors(422)},
    )
    @idempotent
    def post(self, request, id):
        customer = self.customer()
        body = self.parsed(ContactWriteSerializer)
        contact = contact_create(
            organization=self.organization,
            customer=customer,
            actor=Actor.api_key(request.auth),
            **body.service_values(),
        )
        return contact_response(contact, status.HTTP_201_CREATED)


class CustomerContactDetail(OrganizationAPIView):
    serializer_class = ContactSerializer
    pagination_class = None

    def contact(self, customer: Customer | None = None) -> Contact:
        return contact_for(customer=customer or self.customer(), ref=self.kwargs["contactId"])

    @extend_schema(
        operation_id="getContact",
        tags=["contacts"],
        summary="Get a contact",
        description=VERSIONS,
        parameters=[CUSTOMER_REF, CONTACT_REF],
        responses={200: ContactSerializer, **READ_ERRORS},
    )
    def get(self, request, id, contactId):
        return contact_response(self.contact())

    @extend_schema(
        operation_id="updateContact",
        tags=["contacts"],
        summary="Change some of a contact's fields",
        description=(
            "Only the fields you send change; the others keep their stored values (`email` is not "
            f"needed). `null` clears `phone`, `position` and the names. {SYNCED_RULE} {VERSIONS}"
        ),
        parameters=[CUSTOMER_REF, CONTACT_REF],
        request=ContactUpdateSerializer,
        responses={200: ContactSerializer, **CONTACT_WRITE_ERRORS},
    )
    def patch(self, request, id, contactId):
        contact = self.contact()
        body = self.parsed(ContactUpdateSerializer, partial=True, stored=contact)
        changed = contact_update(
            contact=contact,
            actor=Actor.api_key(request.auth),
            expected_versions=self.expected_versions(),
            **body.service_values(),
        )
        return contact_response(changed)

    @extend_schema(
        operation_id="upsertContact",
        tags=["contacts"],
        summary="Create or update a contact by its identifier code (idempotent)",
        description=(
            "With `external:CODE`, creates the contact if your organization has none with this "
            "identifier code (201, with its URL in `Location`; `email` is then required), otherwise "
            "updates it (200; `email` may be left out). Fields left out keep their stored values (blank "
            "for a new contact); sending the same body again changes nothing. With an internal id, "
            f"updates that contact and never creates. {SYNCED_RULE} {VERSIONS}"
        ),
        parameters=[CUSTOMER_REF, CONTACT_REF],
        request=ContactUpsertSerializer,
        responses={200: ContactSerializer, 201: ContactSerializer, **CONTACT_WRITE_ERRORS},
    )
    def put(self, request, id, contactId):
        customer = self.customer()
        lookup = ref_filter(contactId)
        by_pk = lookup is None or "pk" in lookup
        if by_pk:
            stored = self.contact(customer)
            external_id = stored.external_id
        else:
            external_id = lookup["external_id"]
            stored = contacts_of(self.organization).filter(customer=customer, external_id=external_id).first()
        values = self.parsed(ContactUpsertSerializer, partial=True, stored=stored).service_values()
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
            expected_versions=self.expected_versions(),
        )
        return contact_response(contact, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="deleteContact",
        tags=["contacts"],
        summary="Delete a contact",
        description=(
            "Deletes the contact for good (204, no body). Send the `ETag` you read in `If-Match` to "
            "delete it only if nobody changed it since (412 otherwise)."
        ),
        parameters=[CUSTOMER_REF, CONTACT_REF],
        request=None,
        responses={204: None, **CONTACT_WRITE_ERRORS},
    )
    def delete(self, request, id, contactId):
        actor, versions = Actor.api_key(request.auth), self.expected_versions()
        contact_delete(contact=self.contact(), actor=actor, expected_versions=versions)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactList(OrganizationAPIView):
    serializer_class = ContactSerializer
    filters = ContactFilters

    @extend_schema(
        operation_id="listContacts",
        tags=["contacts"],
        summary="List your organization's contacts",
        description=(
            "Every contact of your organization by id order, `limit` at a time, optionally filtered. "
            "To sync changes, keep the time of your last call and pass it as `updatedSince`. An empty, "
            "repeated or unknown parameter is a 400 (it would otherwise match everything)."
        ),
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
