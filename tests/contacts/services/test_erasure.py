"""Erasing a person: the contact goes, its personal data leaves every log, counts and a tombstone stay."""

import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from contacts.importing.pipeline import commit_import
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.services.contacts import contact_delete, contact_update
from contacts.services.erasure import ERASED_REPR, ERASED_TEXT, NOTHING_TO_ERASE, contact_erase
from tests.factories import ContactFactory, CustomerFactory, UserFactory
from tests.helpers import actor, contact_row, csv_bytes

pytestmark = pytest.mark.django_db

PERSONAL = ("anne.roux@client.example", "Anne", "Roux", "+33612345678", "06 12 34 56 78")


def everything_stored(org) -> str:
    """Every text the logs hold, in one string to search."""
    log = list(ContactChange.objects.filter(organization=org).values_list("before", "after"))
    batches = list(ImportBatch.objects.filter(organization=org).values_list("errors", "warnings"))
    admin = list(LogEntry.objects.values_list("object_repr", "change_message"))
    return json.dumps([log, batches, admin], ensure_ascii=False)


def a_contact_with_a_history(org):
    """A contact imported (with a warning quoting her phone as typed), edited in the admin, logged by it."""
    customer = CustomerFactory(organization=org)
    data = csv_bytes(
        [
            contact_row(customer, "P-1", "anne.roux@client.example", first_name="Anne", last_name="Roux"),
            contact_row(customer, "P-2", "not an email", phone="06 12 34 56 78"),
        ]
    )
    batch = commit_import(organization=org, data=data, filename="c.csv", skip_invalid=True).batch
    ImportBatch.objects.filter(pk=batch.pk).update(
        warnings=[
            {"row": 2, "column": None, "message": 'Row 2 names "Anne Roux" <anne.roux@client.example>.'}
        ]
    )
    contact = Contact.objects.get(external_id="P-1")
    contact_update(contact=contact, actor=actor(), phone="06 12 34 56 78")
    staff = UserFactory()
    LogEntry.objects.log_actions(
        user_id=staff.pk, queryset=[contact], action_flag=CHANGE, change_message="[]", single_object=True
    )
    LogEntry.objects.log_actions(
        user_id=staff.pk,
        queryset=[customer],
        action_flag=CHANGE,
        change_message=json.dumps(
            [{"changed": {"name": "contact", "object": str(contact), "fields": ["phone"]}}]
        ),
        single_object=True,
    )
    return contact, batch


def test_erasing_deletes_the_contact_and_scrubs_its_personal_data_everywhere(org):
    contact, batch = a_contact_with_a_history(org)
    contact_id = contact.pk
    assert all(value in everything_stored(org) for value in PERSONAL[:4])

    erasure = contact_erase(organization=org, external_id="P-1", actor=actor("command"))

    stored = everything_stored(org)
    assert not any(value in stored for value in PERSONAL)
    assert not Contact.objects.filter(pk=contact_id).exists()
    assert (erasure.deleted, erasure.log_entries, erasure.imports, erasure.admin_entries) == (True, 2, 1, 2)
    batch.refresh_from_db()
    assert (batch.rows, batch.new, batch.invalid) == (2, 1, 1)  # counts stay
    assert ERASED_TEXT in batch.warnings[0]["message"]
    own = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(Contact))
    assert own.object_repr == ERASED_REPR % {"id": contact_id}


def test_the_log_keeps_what_happened_and_a_tombstone(org):
    contact, _batch = a_contact_with_a_history(org)

    contact_erase(organization=org, external_id="P-1", actor=actor("command", name="dpo"))

    entries = list(ContactChange.objects.filter(contact_id=contact.pk).order_by("seq"))
    assert [(e.action, e.channel) for e in entries] == [
        ("created", "import"),
        ("updated", "admin"),
        ("erased", "command"),
    ]
    assert entries[0].after["email"] is None
    assert entries[0].after["external_id"] == "P-1"
    assert entries[1].before == {"phone": None, "source": "import"}
    assert (entries[2].before, entries[2].after, entries[2].actor) == (None, None, "dpo")


def test_a_contact_deleted_before_is_still_scrubbed_from_the_log(org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer, external_id="P-1", email="anne.roux@client.example")
    contact_delete(contact=contact, actor=actor("api"))

    erasure = contact_erase(organization=org, external_id="P-1", actor=actor("command"))

    assert erasure.deleted is False
    assert "anne.roux@client.example" not in everything_stored(org)
    assert ContactChange.objects.filter(action="erased", external_id="P-1").count() == 1


def test_other_peoples_entries_that_share_a_first_name_are_left_alone(org):
    contact, _batch = a_contact_with_a_history(org)
    someone_else = ContactFactory(first_name="Anne", last_name="Martin", email="anne.martin@other.example")
    LogEntry.objects.log_actions(
        user_id=UserFactory().pk,
        queryset=[someone_else],
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["First name"]}}]',
        single_object=True,
    )

    contact_erase(organization=org, external_id="P-1", actor=actor("command"))

    kept = LogEntry.objects.get(object_id=str(someone_else.pk))
    assert kept.object_repr == str(someone_else)
    assert contact.pk != someone_else.pk


def test_an_unknown_identifier_code_erases_nothing(org):
    ContactFactory(customer__organization=org, external_id="P-1")

    with pytest.raises(ValidationError) as refused:
        contact_erase(organization=org, external_id="NOPE", actor=actor("command"))

    assert refused.value.messages == [NOTHING_TO_ERASE % {"organization": org.name, "code": "NOPE"}]
    assert Contact.objects.count() == 1
    assert ContactChange.objects.count() == 0


def test_another_organizations_contact_with_the_same_code_is_untouched(org):
    other = ContactFactory(external_id="P-1", email="anne.roux@client.example")
    ContactFactory(customer__organization=org, external_id="P-1", email="someone@client.example")

    contact_erase(organization=org, external_id="P-1", actor=actor("command"))

    assert Contact.objects.get(external_id="P-1") == other
