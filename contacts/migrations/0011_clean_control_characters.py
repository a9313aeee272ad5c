"""Control characters already stored in one-line fields go, as the input now takes them out (issue 13:
two contacts held "\x01" and "\x07" in their names).

Every value is cleaned by the input's own function, contacts.normalization.one_line_text (a line break
or a tab becomes a space, the other control characters go). Names (contacts' first and last names,
customers' names) are always cleaned. Identifier codes and emails, which the input refuses rather than
change, are cleaned the same way when the cleaned value is still valid and names nothing else in its
uniqueness scope (the organization for codes, the customer for emails); otherwise they stay as they
are for a person to fix, and the admin refuses to save them until then. Phones are stored in E.164
form, which holds none. Only the rows holding one are read (a regular expression in SQL). Each contact
cleaned gets a change log entry (channel "command line"), so the API's changes feed carries the new
values to the clients' mirrors.
"""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import migrations
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.normalization import identifier_problem, normalize_email, one_line_text

# contacts.normalization.CONTROL_CHARACTERS, in a form both SQLite (Python's re) and PostgreSQL read;
# NUL is left out: PostgreSQL stores none.
HOLDS_CONTROL = r"[\x01-\x1f\x7f-\x9f\u2028\u2029]"
ACTOR = "migration 0011_clean_control_characters"


def clean(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    Customer = apps.get_model("customers", "Customer")
    now = timezone.now()
    holding = Q()
    for name in ("first_name", "last_name", "external_id", "email"):
        holding |= Q(**{f"{name}__regex": HOLDS_CONTROL})
    entries = defaultdict(list)  # organization id -> the change log's entries of its contacts
    for contact in Contact.objects.filter(holding).order_by("pk"):
        after = _cleaned_contact(Contact, contact)
        before = {name: getattr(contact, name) for name in after}
        if not after:
            continue
        Contact.objects.filter(pk=contact.pk).update(**after, updated_at=now)
        entries[contact.organization_id].append((contact, before, after))
    _log(apps, entries, now)
    for customer in Customer.objects.filter(
        Q(name__regex=HOLDS_CONTROL) | Q(external_id__regex=HOLDS_CONTROL)
    ):
        values = {"name": one_line_text(customer.name)}
        code = one_line_text(customer.external_id)
        others = Customer.objects.filter(organization_id=customer.organization_id, external_id=code)
        if code != customer.external_id and code and not others.exists():
            values["external_id"] = code
        Customer.objects.filter(pk=customer.pk).update(**values, updated_at=now)


def _cleaned_contact(Contact, contact) -> dict:
    """The contact's fields that change, with their cleaned values."""
    values = {name: one_line_text(getattr(contact, name)) for name in ("first_name", "last_name")}
    code = one_line_text(contact.external_id)
    same_code = Contact.objects.filter(organization_id=contact.organization_id, external_id=code).exclude(
        pk=contact.pk
    )
    if code and not identifier_problem(code) and not same_code.exists():
        values["external_id"] = code
    try:
        email = normalize_email(one_line_text(contact.email))
    except ValidationError:
        email = contact.email
    same_email = (
        Contact.objects.annotate(address=Lower("email"))
        .filter(customer_id=contact.customer_id, address=email)
        .exclude(pk=contact.pk)
    )
    if not same_email.exists():
        values["email"] = email
    return {name: value for name, value in values.items() if value != getattr(contact, name)}


def _log(apps, entries: dict, now) -> None:
    """One change log entry per contact cleaned (channel "command"), numbered after the organization's
    last one, so the API's changes feed tells mirrors about the new values."""
    ContactChange = apps.get_model("contacts", "ContactChange")
    ChangeSequence = apps.get_model("contacts", "ChangeSequence")
    for organization_id, changes in entries.items():
        sequence, _created = ChangeSequence.objects.get_or_create(organization_id=organization_id)
        first = sequence.last + 1
        ContactChange.objects.bulk_create(
            ContactChange(
                organization_id=organization_id,
                seq=first + index,
                contact_id=contact.pk,
                external_id=after.get("external_id", contact.external_id),
                customer_id=contact.customer_id,
                action="updated",
                channel="command",
                actor=ACTOR,
                at=now,
                before=before,
                after=after,
            )
            for index, (contact, before, after) in enumerate(changes)
        )
        ChangeSequence.objects.filter(pk=organization_id).update(last=first + len(changes) - 1)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0010_support_staff_change_log_permissions"),
        ("customers", "0003_api_read_only_keys_and_idempotency"),
    ]

    operations = [migrations.RunPython(clean, migrations.RunPython.noop, elidable=True)]
