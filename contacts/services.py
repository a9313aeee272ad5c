"""Every write to contacts goes through here: the admin, the import and the API share these rules."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import EMAIL_TAKEN, EXTERNAL_ID_TAKEN, MAIN_CONTACT_CONSTRAINT, Contact
from customers.models import Customer, Organization

CONTACTS_SYNCED = (
    "The contacts of {organization} are synced from the invoicing system and cannot be changed here. "
    "Disconnect them from the invoicing sync first."
)
CUSTOMER_OF_ANOTHER_ORGANIZATION = "This customer belongs to another organization."
MAIN_CONTACT_CONFLICT = "Another request changed this customer's main contact at the same time; try again."
EDITABLE_FIELDS = ("external_id", "email", "first_name", "last_name", "phone", "occupation", "is_main")


def ensure_contacts_managed(organization: Organization) -> None:
    """Refuse any write while the organization's contacts still come from the invoicing sync."""
    if not organization.contacts_are_managed:
        raise ValidationError(CONTACTS_SYNCED.format(organization=organization.name), code="contacts_synced")


def lock_customer(customer_id: int) -> Customer:
    """Serialize writes to one customer's contacts (the main-contact rule spans its rows)."""
    return Customer.objects.select_for_update().get(pk=customer_id)


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


def _save(contact: Contact) -> Contact:
    ensure_contacts_managed(contact.organization)
    contact.full_clean()
    with transaction.atomic():
        lock_customer(contact.customer_id)
        if contact.is_main:
            demote_main_contacts(customer_id=contact.customer_id, keep_id=contact.pk)
        try:
            with transaction.atomic():
                contact.save()
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
    return _save(contact)


@transaction.atomic
def contact_update(*, contact: Contact, **changes) -> Contact:
    """Change some of `EDITABLE_FIELDS`; making it main demotes the customer's current main."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(contact, field, value)
    return _save(contact)


def contact_make_main(*, contact: Contact) -> Contact:
    """Make `contact` the main contact of its customer, demoting the current one."""
    return contact_update(contact=contact, is_main=True)


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    ensure_contacts_managed(contact.organization)
    contact.delete()
