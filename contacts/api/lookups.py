"""`{id}` in URLs: an internal id (`42`) or `external:EXTERNAL_ID`; always within the key's organization."""

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound

from contacts.models import Contact
from customers.models import Customer, Organization

EXTERNAL_PREFIX = "external:"
REF_PATTERN = r"^([0-9]+|external:[^/]+)$"
REF_DESCRIPTION = (
    "The internal id (`42`) or `external:` followed by the external id (`external:CUST-001`). "
    "Percent-encode reserved characters; an external id containing `/` cannot be used in a URL "
    "(filter the list by `externalId` instead)."
)
CUSTOMER_NOT_FOUND = _("Your organization has no customer {ref}.")
CONTACT_NOT_FOUND = _("This customer has no contact {ref}.")
WITH_EXTERNAL_ID = _('with the external id "{value}"')
WITH_ID = _('with the id "{value}"')
_MAX_ID = 2**63 - 1  # beyond a 64-bit integer, the database would refuse the query


class RefConverter:
    """Anything but `/`; what it means is decided by `ref_filter`."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


def ref_filter(ref: str) -> dict | None:
    """The lookup `ref` stands for, or None when it cannot name anything."""
    if ref.startswith(EXTERNAL_PREFIX):
        # Identifier codes are stored trimmed: `external:%20lead` names "lead", as a PUT to it wrote.
        external_id = ref.removeprefix(EXTERNAL_PREFIX).strip()
        if not external_id or "\x00" in external_id:
            return None
        return {"external_id": external_id}
    if ref.isascii() and ref.isdigit() and int(ref) <= _MAX_ID:
        return {"pk": int(ref)}
    return None


def _describe(ref: str) -> str:
    if ref.startswith(EXTERNAL_PREFIX):
        return WITH_EXTERNAL_ID.format(value=ref.removeprefix(EXTERNAL_PREFIX))
    return WITH_ID.format(value=ref)


def _get(queryset: QuerySet, ref: str, message: str):
    lookup = ref_filter(ref)
    # One row at most (the lookups are unique): no ORDER BY, which for contacts would join the
    # customer to sort by its name.
    found = next(iter(queryset.filter(**lookup).order_by()[:1]), None) if lookup is not None else None
    if found is None:
        raise NotFound(message.format(ref=_describe(ref)))
    return found


def customer_for(*, organization: Organization, ref: str) -> Customer:
    customer = _get(Customer.objects.filter(organization=organization), ref, CUSTOMER_NOT_FOUND)
    customer.organization = organization
    return customer


def contact_for(*, customer: Customer, ref: str) -> Contact:
    """The customer's contact `ref`, with its customer and organization (already read) attached."""
    queryset = Contact.objects.filter(organization_id=customer.organization_id, customer=customer)
    contact = _get(queryset, ref, CONTACT_NOT_FOUND)
    contact.customer = customer
    contact.organization = customer.organization
    return contact
