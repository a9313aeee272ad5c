"""Writes of one contact: the admin's forms and the API's single-contact calls go through here.

Each function owns its transaction, its guard (the organization's contacts are managed here) and its
lock (the customer's, through contacts.locks), and reads the contact again under that lock: a copy
read before another request changed it would write stale values back. Each records its change log
entries (contacts.services.changelog) last, in the same transaction, with the `actor` its caller
passes; a write sets the contact's `source` to the actor's channel.

A write that makes a contact main demotes the customer's current main contact; the contact returned
lists the contacts it demoted in `contact.demoted`, for the admin to say so.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.fields import CONTACT_FIELDS
from contacts.locks import lock_customer
from contacts.models import EMAIL_TAKEN, EXTERNAL_ID_TAKEN, MAIN_CONTACT_CONSTRAINT, Contact
from contacts.services import changelog
from contacts.services.changelog import Action, Actor, Entry
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


def ensure_contacts_managed(organization: Organization) -> None:
    """Refuse any write while the organization's contacts still come from the invoicing sync."""
    if not organization.contacts_are_managed:
        raise ValidationError(CONTACTS_SYNCED.format(organization=organization.name), code="contacts_synced")


def demote_main_contacts(*, customer_id: int, keep_id: int | None, actor: Actor) -> list[Entry]:
    """Unset the customer's main contact (but `keep_id`); returns the log entries of the contacts it
    demoted. The caller holds the customer's lock and records the entries."""
    demoted = list(Contact.objects.filter(customer_id=customer_id, is_main=True).exclude(pk=keep_id))
    if not demoted:
        return []
    # Demote before promoting: the partial unique index rejects two mains even for an instant.
    Contact.objects.filter(pk__in=[c.pk for c in demoted]).update(
        is_main=False, source=actor.source, updated_at=timezone.now()
    )
    after = {"is_main": False, "source": actor.source}
    return [
        changelog.updated(
            c, *changelog.difference({"is_main": True, "source": c.source}, after), Action.DEMOTED
        )
        for c in demoted
    ]


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


def _write(
    contact: Contact, *, promoted: bool, actor: Actor, update_fields: list[str] | None = None
) -> list[Entry]:
    """Save under the customer's lock (the caller holds it); a new main demotes the current one.
    Returns the log entries of the contacts it demoted."""
    demoted = (
        demote_main_contacts(customer_id=contact.customer_id, keep_id=contact.pk, actor=actor)
        if promoted
        else []
    )
    try:
        with transaction.atomic():
            contact.save(update_fields=update_fields)
    except IntegrityError as error:
        raise integrity_validation_error(error) from error
    return demoted


def _record(contact: Contact, entries: list[Entry], actor: Actor) -> Contact:
    """Record the write's entries (last: it takes the change counter); list the demoted contacts."""
    changelog.record(entries, organization_id=contact.organization_id, actor=actor)
    demoted_ids = [e.contact_id for e in entries if e.action == Action.DEMOTED]
    contact.demoted = (
        list(Contact.objects.filter(pk__in=demoted_ids).select_related("customer")) if demoted_ids else []
    )
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
    actor: Actor,
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
        source=actor.source,
    )
    contact.full_clean()
    demoted = _write(contact, promoted=contact.is_main, actor=actor)
    return _record(contact, [*demoted, changelog.created(contact)], actor)


def _locked_again(contact: Contact) -> Contact:
    """The contact as stored once its customer is locked (ValidationError "gone" if deleted meanwhile)."""
    lock_customer(contact.customer_id)
    fresh = Contact.objects.select_related("customer", "organization").filter(pk=contact.pk).first()
    if fresh is None:
        raise ValidationError(CONTACT_GONE, code="gone")
    return fresh


@transaction.atomic
def contact_update(*, contact: Contact, actor: Actor, **changes) -> Contact:
    """Change some of `EDITABLE_FIELDS`; making it main demotes the customer's current main.

    Only the fields whose stored form changes are written (sending the same values again is a no-op
    that keeps `updated_at` and `source`, and records nothing); the contact is read again under its
    customer's lock first. Returns the contact as stored, and refreshes `contact` with it.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    fresh = _locked_again(contact)
    ensure_contacts_managed(fresh.organization)
    stored = changelog.values_of(fresh)
    for name, value in changes.items():
        setattr(fresh, name, value)
    fresh.full_clean()  # normalizes: emails lower-cased, phones in E.164, names trimmed
    changed = [name for name in EDITABLE_FIELDS if getattr(fresh, name) != stored[name]]
    fresh.demoted = []
    if changed:
        fresh.source = actor.source
        promoted = "is_main" in changed and fresh.is_main
        demoted = _write(
            fresh, promoted=promoted, actor=actor, update_fields=[*changed, "source", "updated_at"]
        )
        before, after = changelog.difference(stored, changelog.values_of(fresh))
        _record(fresh, [*demoted, changelog.updated(fresh, before, after)], actor)
    for name in (*EDITABLE_FIELDS, "source", "updated_at", "demoted"):
        setattr(contact, name, getattr(fresh, name))
    return fresh


def contact_make_main(*, contact: Contact, actor: Actor) -> Contact:
    """Make `contact` the main contact of its customer, demoting the current one."""
    return contact_update(contact=contact, actor=actor, is_main=True)


@transaction.atomic
def contact_upsert(
    *, organization: Organization, customer: Customer, external_id: str, values: dict, actor: Actor
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
        return contact_update(contact=contact, actor=actor, **values), False
    if "email" not in values:
        raise ValidationError({"email": EMAIL_REQUIRED_TO_CREATE}, code="required")
    values = {"external_id": external_id, **values}
    return contact_create(organization=organization, customer=customer, actor=actor, **values), True


@transaction.atomic
def contact_delete(*, contact: Contact, actor: Actor) -> None:
    fresh = _locked_again(contact)
    ensure_contacts_managed(fresh.organization)
    entry = changelog.deleted(fresh)
    fresh.delete()
    changelog.record([entry], organization_id=fresh.organization_id, actor=actor)
