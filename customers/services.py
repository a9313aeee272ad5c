from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from contacts.locks import lock_customers, lock_organization
from contacts.models import Contact
from contacts.services import changelog
from contacts.services.changelog import Actor
from contacts.services.contacts import ensure_contacts_managed
from customers.models import Customer, Organization

DISCONNECTED_LOG_MESSAGE = "Disconnected contacts from the invoicing sync (irreversible)."


@transaction.atomic
def organization_disconnect_contacts(
    *, organization: Organization, by: AbstractBaseUser | None = None
) -> Organization:
    """Make the organization's contacts managed here from now on; never undone. Idempotent."""
    locked = lock_organization(organization.pk)
    if locked.contacts_are_managed:
        return locked
    locked.contacts_source = Organization.ContactsSource.MANAGED
    locked.contacts_disconnected_at = timezone.now()
    locked.contacts_disconnected_by = by
    locked.save(update_fields=["contacts_source", "contacts_disconnected_at", "contacts_disconnected_by"])
    if by is not None:
        LogEntry.objects.log_actions(
            user_id=by.pk,
            queryset=[locked],
            action_flag=CHANGE,
            change_message=DISCONNECTED_LOG_MESSAGE,
            single_object=True,
        )
    return locked


@transaction.atomic
def customer_delete(*, customer: Customer, actor: Actor) -> None:
    """Delete a customer and its contacts, recording each contact's deletion in the change log (in bulk),
    so that an API client following the changes feed sees them go. The customer and its organization are
    locked in the one order (contacts.locks)."""
    organization = lock_organization(customer.organization_id)
    lock_customers(organization_id=customer.organization_id, customer_ids=[customer.pk])
    contacts = Contact.objects.filter(customer=customer)
    if contacts.exists():
        # A synced organization's contacts are the invoicing system's: deleting its customer would too.
        ensure_contacts_managed(organization)
    # The entries outlive the customer: they keep the contact's id and identifier code, not the customer.
    entries = [
        changelog.deleted(contact)._replace(customer_id=None)
        for contact in Contact.objects.filter(customer=customer)
    ]
    customer.delete()
    changelog.record(entries, organization_id=customer.organization_id, actor=actor)
