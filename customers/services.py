from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from contacts.locks import lock_organization
from customers.models import Organization

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
