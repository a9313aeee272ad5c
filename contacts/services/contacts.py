"""Writes of one contact: the admin's forms and the API's single-contact calls go through here.

Each function owns its transaction, its guard (the organization's contacts are managed here) and its
lock (the customer's, through contacts.locks), and reads the contact again under that lock: a copy
read before another request changed it would write stale values back. Each records its change log
entries (contacts.services.changelog) last, in the same transaction, with the `actor` its caller
passes; a write sets the contact's `source` to the actor's channel.

A write that makes a contact main demotes the customer's current main contact; the contact returned
lists the contacts it demoted in `contact.demoted`, for the admin to say so.
"""

import contextlib
import copy
import hashlib
from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.fields import CONTACT_FIELDS
from contacts.locks import lock_customer
from contacts.models import EMAIL_TAKEN, EXTERNAL_ID_TAKEN, MAIN_CONTACT_CONSTRAINT, Contact
from contacts.services import changelog
from contacts.services.changelog import Action, Actor, Entry
from customers.models import Customer, Organization

CONTACTS_SYNCED = _(
    "The contacts of {organization} are synced from the invoicing system and cannot be changed here. "
    "Disconnect them from the invoicing sync first."
)
CUSTOMER_OF_ANOTHER_ORGANIZATION = _("This customer belongs to another organization.")
MAIN_CONTACT_CONFLICT = _("Another request changed this customer's main contact at the same time; try again.")
CONTACT_GONE = _("This contact was deleted by another request.")
EMAIL_REQUIRED_TO_CREATE = _("This field is required to create a contact.")
CONTACT_OF_ANOTHER_CUSTOMER = _(
    'The identifier code "{value}" belongs to a contact of another customer (code "{code}"); '
    "a contact cannot be moved to another customer."
)
CONTACT_CHANGED = _(
    "This contact changed since you read it (its version is no longer the one in If-Match); read it "
    "again and send your change with its new ETag."
)
CONTACT_NOT_THERE = _("There is no such contact to match If-Match: it does not exist (yet).")
ONLY_OCCUPATION_WHILE_SYNCED = _(
    "The contacts of {organization} are synced from the invoicing system: only a contact's occupation "
    "can be changed here, not {fields}. Disconnect them from the invoicing sync to change the rest."
)
EDITABLE_FIELDS = CONTACT_FIELDS
# What the platform lets clients change while the invoicing system still owns the contacts.
EDITABLE_WHILE_SYNCED = frozenset({"occupation"})
ANY_VERSION = "*"
VERSIONED_FIELDS = ("pk", "customer_id", *CONTACT_FIELDS, "source", "created_at", "updated_at")


def contact_version(contact: Contact) -> str:
    """A fingerprint of the contact as stored: any change to it (by any writer) changes it."""
    values = "\x1f".join(str(getattr(contact, name)) for name in VERSIONED_FIELDS)
    return hashlib.sha256(values.encode()).hexdigest()[:20]


def _check_version(contact: Contact, expected_versions: Collection[str] | None) -> None:
    """None: no expectation; else the contact must be at one of these versions ("*": any)."""
    if expected_versions is None or ANY_VERSION in expected_versions:
        return
    if contact_version(contact) not in expected_versions:
        raise ValidationError(CONTACT_CHANGED, code="stale")


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
    values = {"first_name": first_name, "last_name": last_name, "phone": phone, "occupation": occupation}
    values |= {"external_id": external_id, "email": email, "is_main": is_main}
    return _create_locked(organization=organization, customer=customer, values=values, actor=actor)


def _create_locked(*, organization: Organization, customer: Customer, values: dict, actor: Actor) -> Contact:
    """contact_create's work, once the guard is checked and the customer locked (contacts.locks'
    order: the customer, then its contacts) by the one caller that owns the transaction."""
    contact = Contact(organization=organization, customer=customer, source=actor.source, **values)
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


def _ensure_changes_allowed(organization: Organization, changed: list[str]) -> None:
    """While synced, only the occupation may change (the platform's rule); anything else is refused."""
    refused = [name for name in changed if name not in EDITABLE_WHILE_SYNCED]
    if organization.contacts_are_managed or not refused:
        return
    fields = ", ".join(str(Contact._meta.get_field(name).verbose_name) for name in refused)
    message = ONLY_OCCUPATION_WHILE_SYNCED.format(organization=organization.name, fields=fields)
    raise ValidationError(message, code="contacts_synced")


# A contact never changes customer nor organization: their foreign keys need no existence query.
FIXED_FIELDS = ("customer", "organization")
# The fields a uniqueness rule reads: checked before writing only when one of them changes.
UNIQUE_FIELDS = {"email", "external_id"}


def _clean_changes(fresh: Contact, stored: dict) -> list[str]:
    """Normalize and check `fresh` (every problem at once, like full_clean); the fields that change.

    Like Model.full_clean, but without the two queries that check the unchanged foreign keys, and
    the uniqueness queries only when an email or identifier code changes (the database holds those
    rules anyway; integrity_validation_error words its refusals the same way).
    """
    errors: dict = {}
    for check in (lambda: fresh.clean_fields(exclude=FIXED_FIELDS), fresh.clean):
        try:
            check()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    changed = [name for name in EDITABLE_FIELDS if getattr(fresh, name) != stored[name]]
    if UNIQUE_FIELDS & set(changed):
        for check in (fresh.validate_unique, fresh.validate_constraints):
            try:
                check(exclude=set(errors))
            except ValidationError as error:
                errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    return changed


def _update_locked(
    fresh: Contact, expected_versions: Collection[str] | None, changes: dict, actor: Actor
) -> Contact:
    """contact_update's work, once the customer is locked and `fresh` read under that lock."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    _check_version(fresh, expected_versions)
    fresh.demoted = []
    stored = changelog.values_of(fresh)
    if not fresh.organization.contacts_are_managed:
        changes = _without_values_sent_back(fresh, changes)
    if not fresh.organization.contacts_are_managed and set(changes) <= EDITABLE_WHILE_SYNCED:
        changed = _changed_while_synced(fresh, changes)
    else:
        for name, value in changes.items():
            setattr(fresh, name, value)
        changed = _clean_changes(fresh, stored)  # normalizes: emails lower-cased, phones E.164, names trimmed
        _ensure_changes_allowed(fresh.organization, changed)
    if changed:
        if fresh.organization.contacts_are_managed:
            # The channel of the last write; a synced organization's contacts stay the invoicing sync's.
            fresh.source = actor.source
        promoted = "is_main" in changed and fresh.is_main
        demoted = _write(
            fresh, promoted=promoted, actor=actor, update_fields=[*changed, "source", "updated_at"]
        )
        before, after = changelog.difference(stored, changelog.values_of(fresh))
        _record(fresh, [*demoted, changelog.updated(fresh, before, after)], actor)
    return fresh


def _without_values_sent_back(fresh: Contact, changes: dict) -> dict:
    """`changes` without the fields a writer sent back as they are stored: a client that reads a synced
    contact and puts it back with another occupation changes only that. The invoicing sync stores
    values in its own forms (`06 12 34 56 78`, `Anne.Roux@Example.com`) while a writer's come in the
    rules' forms, so a value also counts as sent back when it is the stored one in the rules' form."""
    normalized = copy.copy(fresh)
    # clean() normalizes in place each field it can, even when another is invalid.
    with contextlib.suppress(ValidationError):
        normalized.clean()
    return {
        name: value
        for name, value in changes.items()
        if name in EDITABLE_WHILE_SYNCED or value not in (getattr(fresh, name), getattr(normalized, name))
    }


def _changed_while_synced(fresh: Contact, changes: dict) -> list[str]:
    """Set EDITABLE_WHILE_SYNCED fields of a synced organization's contact; the ones that change.

    Only those fields are checked: the other stored values are the invoicing system's, not the
    writer's to correct, so a phone the sync stored in another form does not block the change.
    """
    stored = {name: getattr(fresh, name) for name in EDITABLE_WHILE_SYNCED}
    for name, value in changes.items():
        setattr(fresh, name, value)
    fresh.clean_fields(exclude=[f.name for f in Contact._meta.fields if f.name not in EDITABLE_WHILE_SYNCED])
    return [name for name in sorted(EDITABLE_WHILE_SYNCED) if getattr(fresh, name) != stored[name]]


@transaction.atomic
def contact_update(
    *, contact: Contact, actor: Actor, expected_versions: Collection[str] | None = None, **changes
) -> Contact:
    """Change some of `EDITABLE_FIELDS`; making it main demotes the customer's current main.

    Only the fields whose stored form changes are written (sending the same values again is a no-op
    that keeps `updated_at` and `source`, and records nothing); the contact is read again under its
    customer's lock first, and compared with `expected_versions` (contact_version; an HTTP If-Match)
    when they are given. While the organization's contacts are synced, only the occupation may change.
    Returns the contact as stored, and refreshes `contact` with it.
    """
    fresh = _update_locked(_locked_again(contact), expected_versions, changes, actor)
    for name in (*EDITABLE_FIELDS, "source", "updated_at", "demoted"):
        setattr(contact, name, getattr(fresh, name))
    return fresh


def contact_make_main(*, contact: Contact, actor: Actor) -> Contact:
    """Make `contact` the main contact of its customer, demoting the current one."""
    return contact_update(contact=contact, actor=actor, is_main=True)


@transaction.atomic
def contact_upsert(
    *,
    organization: Organization,
    customer: Customer,
    external_id: str,
    values: dict,
    actor: Actor,
    expected_versions: Collection[str] | None = None,
) -> tuple[Contact, bool]:
    """Create the contact with this identifier code, or update it with `values`; True when created.

    Under the customer's lock, two identical calls run one after the other: create, then no-op. With
    `expected_versions`, only an existing contact at one of them is updated (never created).
    """
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
        # Read under the customer's lock just above: no need for contact_update's own lock and read.
        return _update_locked(contact, expected_versions, values, actor), False
    if expected_versions is not None:
        raise ValidationError(CONTACT_NOT_THERE, code="stale")
    ensure_contacts_managed(organization)
    if "email" not in values:
        raise ValidationError({"email": EMAIL_REQUIRED_TO_CREATE}, code="required")
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    values = {"external_id": external_id, **values}
    # Under the lock taken above: contact_create would take it (and check the guard) a second time.
    return _create_locked(organization=organization, customer=customer, values=values, actor=actor), True


@transaction.atomic
def contact_delete(
    *, contact: Contact, actor: Actor, expected_versions: Collection[str] | None = None
) -> None:
    fresh = _locked_again(contact)
    _check_version(fresh, expected_versions)
    ensure_contacts_managed(fresh.organization)
    entry = changelog.deleted(fresh)
    fresh.delete()
    changelog.record([entry], organization_id=fresh.organization_id, actor=actor)
