"""Writes of one contact: the admin's forms and the API's single-contact calls go through here.

Each function owns its transaction, its guard (the organization's contacts are managed here) and its
lock (the customer's, through contacts.locks), and reads the contact again under that lock: a copy
read before another request changed it would write stale values back.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.fields import CONTACT_FIELDS
from contacts.locks import lock_customer
from contacts.models import EMAIL_TAKEN, EXTERNAL_ID_TAKEN, MAIN_CONTACT_CONSTRAINT, Contact
from customers.models import Customer, Organization

CONTACTS_SYNCED = (
    "The contacts of {organization} are synced from the invoicing system and cannot be changed here. "
    "Disconnect them from the invoicing sync first."
)
CUSTOMER_OF_ANOTHER_ORGANIZATION = "This customer belongs to another organization."
MAIN_CONTACT_CONFLICT = "Another request changed this customer's main contact at the same time; try again."
CONTACT_GONE = "This contact was deleted by another request."
EMAIL_REQUIRED_TO_CREATE = "This field is required to create a contact."
CONTACT_OF_ANOTHER_CUSTOMER = (
    'The identifier code "{value}" belongs to a contact of another customer (code "{code}"); '
    "a contact cannot be moved to another customer."
)
EDITABLE_FIELDS = CONTACT_FIELDS
# The platform's rule (its help center): while an organization is still synced from invoicing, a
# contact's occupation may still be changed here; every other field stays the invoicing system's.
SYNCED_EDITABLE_FIELDS = frozenset({"occupation"})


def ensure_contacts_managed(organization: Organization) -> None:
    """Refuse any write while the organization's contacts still come from the invoicing sync."""
    if not organization.contacts_are_managed:
        raise ValidationError(CONTACTS_SYNCED.format(organization=organization.name), code="contacts_synced")


def demote_main_contacts(*, customer_id: int, keep_id: int | None = None) -> int:
    """Unset the customer's main contact (but `keep_id`); returns how many were demoted."""
    # Demote before promoting: the partial unique index rejects two mains even for an instant.
    return (
        Contact.objects.filter(customer_id=customer_id, is_main=True)
        .exclude(pk=keep_id)
        .update(is_main=False, updated_at=timezone.now())
    )


def integrity_validation_error(error: IntegrityError) -> ValidationError:
    """What a refused write means: a value taken meanwhile ("unique", like the checks before writing
    say) or two main contacts at once ("conflict": the data changed under the request, try again)."""
    message = integrity_error_message(error)
    return ValidationError(message, code="conflict" if message == MAIN_CONTACT_CONFLICT else "unique")


def integrity_error_message(error: IntegrityError) -> str:
    """The message a person should read for a constraint the database refused."""
    text = str(error)
    if "contact_email_unique_per_customer" in text or "lower(" in text:
        return EMAIL_TAKEN
    if "external_id" in text:
        return EXTERNAL_ID_TAKEN
    # SQLite names the partial index's column, PostgreSQL the constraint.
    if MAIN_CONTACT_CONSTRAINT in text or "contacts_contact.customer_id" in text:
        return MAIN_CONTACT_CONFLICT
    raise error


def _write(contact: Contact, *, promoted: bool, update_fields: list[str] | None = None) -> Contact:
    """Save under the customer's lock (the caller holds it); a new main demotes the current one."""
    if promoted:
        demote_main_contacts(customer_id=contact.customer_id, keep_id=contact.pk)
    try:
        with transaction.atomic():
            contact.save(update_fields=update_fields)
    except IntegrityError as error:
        raise integrity_validation_error(error) from error
    return contact


@transaction.atomic
def contact_create(
    *,
    organization: Organization,
    customer: Customer,
    external_id: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    occupation: str = "",
    is_main: bool = False,
    source: str = Contact.Source.MANUAL,
) -> Contact:
    """Create a contact of `customer`; a main contact demotes the customer's current one."""
    if customer.organization_id != organization.pk:
        raise ValidationError({"customer": CUSTOMER_OF_ANOTHER_ORGANIZATION}, code="wrong_organization")
    ensure_contacts_managed(organization)
    lock_customer(customer.pk)
    contact = Contact(
        organization=organization,
        customer=customer,
        external_id=external_id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        occupation=occupation,
        is_main=is_main,
        source=source,
    )
    contact.full_clean()
    return _write(contact, promoted=contact.is_main)


def _locked_again(contact: Contact) -> Contact:
    """The contact as stored once its customer is locked (ValidationError "gone" if deleted meanwhile)."""
    lock_customer(contact.customer_id)
    fresh = Contact.objects.select_related("customer", "organization").filter(pk=contact.pk).first()
    if fresh is None:
        raise ValidationError(CONTACT_GONE, code="gone")
    return fresh


@transaction.atomic
def contact_update(*, contact: Contact, **changes) -> Contact:
    """Change some of `EDITABLE_FIELDS`; making it main demotes the customer's current main.

    Only the fields whose stored form changes are written (sending the same values again is a no-op
    that keeps `updated_at`); the contact is read again under its customer's lock first. Returns the
    contact as stored, and refreshes `contact` with it.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    fresh = _locked_again(contact)
    if not fresh.organization.contacts_are_managed and set(changes) <= SYNCED_EDITABLE_FIELDS:
        return _update_synced(contact, fresh, changes)
    ensure_contacts_managed(fresh.organization)
    stored = {name: getattr(fresh, name) for name in EDITABLE_FIELDS}
    for name, value in changes.items():
        setattr(fresh, name, value)
    fresh.full_clean()  # normalizes: emails lower-cased, phones in E.164, names trimmed
    changed = [name for name in EDITABLE_FIELDS if getattr(fresh, name) != stored[name]]
    if changed:
        promoted = "is_main" in changed and fresh.is_main
        _write(fresh, promoted=promoted, update_fields=[*changed, "updated_at"])
    for name in (*EDITABLE_FIELDS, "updated_at"):
        setattr(contact, name, getattr(fresh, name))
    return fresh


def _update_synced(contact: Contact, fresh: Contact, changes: dict) -> Contact:
    """Write SYNCED_EDITABLE_FIELDS of a synced organization's contact (the caller holds the lock).

    Only those fields are checked: the other stored values are the invoicing system's, not the
    writer's to correct, so the model's clean() of the whole contact is not run.
    """
    stored = {name: getattr(fresh, name) for name in SYNCED_EDITABLE_FIELDS}
    for name, value in changes.items():
        setattr(fresh, name, value)
    others = [field.name for field in Contact._meta.fields if field.name not in SYNCED_EDITABLE_FIELDS]
    fresh.clean_fields(exclude=others)
    changed = [name for name in sorted(SYNCED_EDITABLE_FIELDS) if getattr(fresh, name) != stored[name]]
    if changed:
        _write(fresh, promoted=False, update_fields=[*changed, "updated_at"])
    for name in (*SYNCED_EDITABLE_FIELDS, "updated_at"):
        setattr(contact, name, getattr(fresh, name))
    return fresh


def contact_make_main(*, contact: Contact) -> Contact:
    """Make `contact` the main contact of its customer, demoting the current one."""
    return contact_update(contact=contact, is_main=True)


@transaction.atomic
def contact_upsert(
    *, organization: Organization, customer: Customer, external_id: str, values: dict, source: str
) -> tuple[Contact, bool]:
    """Create the contact with this identifier code, or update it with `values`; True when created.

    Under the customer's lock, two identical calls run one after the other: create, then no-op.
    """
    ensure_contacts_managed(organization)
    lock_customer(customer.pk)
    contact = (
        Contact.objects.filter(organization=organization, external_id=external_id)
        .select_related("customer", "organization")
        .first()
    )
    if contact is not None and contact.customer_id != customer.pk:
        message = CONTACT_OF_ANOTHER_CUSTOMER.format(value=external_id, code=contact.customer.external_id)
        raise ValidationError({"external_id": message}, code="moved")
    if contact is not None:
        return contact_update(contact=contact, **values), False
    if "email" not in values:
        raise ValidationError({"email": EMAIL_REQUIRED_TO_CREATE}, code="required")
    values = {"external_id": external_id, **values}
    return contact_create(organization=organization, customer=customer, source=source, **values), True


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    fresh = _locked_again(contact)
    ensure_contacts_managed(fresh.organization)
    fresh.delete()
