import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from customers.models import CONTACTS_SOURCE_IRREVERSIBLE, Organization
from customers.services import DISCONNECTED_LOG_MESSAGE, organization_disconnect_contacts
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_disconnect_records_when_and_by_whom_and_logs_it(synced_org):
    user = UserFactory()

    organization_disconnect_contacts(organization=synced_org, by=user)

    synced_org.refresh_from_db()
    assert synced_org.contacts_source == Organization.ContactsSource.MANAGED
    assert synced_org.contacts_disconnected_at is not None
    assert synced_org.contacts_disconnected_by == user
    entry = LogEntry.objects.get(object_id=str(synced_org.pk))
    assert (entry.user, entry.change_message) == (user, DISCONNECTED_LOG_MESSAGE)


def test_disconnecting_twice_keeps_the_first_date_and_author(synced_org):
    first_user, second_user = UserFactory(), UserFactory()
    organization_disconnect_contacts(organization=synced_org, by=first_user)
    synced_org.refresh_from_db()
    first_date = synced_org.contacts_disconnected_at

    organization_disconnect_contacts(organization=synced_org, by=second_user)

    synced_org.refresh_from_db()
    assert (synced_org.contacts_disconnected_at, synced_org.contacts_disconnected_by) == (
        first_date,
        first_user,
    )
    assert LogEntry.objects.count() == 1


def test_saving_a_disconnected_organization_back_to_invoicing_is_refused(org):
    org.contacts_source = Organization.ContactsSource.INVOICING
    org.contacts_disconnected_at = None

    with pytest.raises(ValidationError) as error:
        org.save()

    assert error.value.message_dict == {
        "contacts_source": [CONTACTS_SOURCE_IRREVERSIBLE.format(organization=org.name)]
    }
    org.refresh_from_db()
    assert org.contacts_source == Organization.ContactsSource.MANAGED


def test_database_refuses_a_managed_organization_without_disconnection_date(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=org.pk).update(contacts_disconnected_at=None)


def test_new_organization_is_synced_from_invoicing_by_default():
    organization = Organization.objects.create(name="New", slug="new")

    assert organization.contacts_source == Organization.ContactsSource.INVOICING
    assert organization.default_phone_region == "FR"


def test_command_with_yes_disconnects(synced_org, capsys):
    call_command("disconnect_contacts", organization=synced_org.slug, yes=True)

    synced_org.refresh_from_db()
    assert synced_org.contacts_are_managed
    assert "now managed here" in capsys.readouterr().out


def test_command_records_the_user_given_with_by(synced_org):
    user = UserFactory(username="alice")

    call_command("disconnect_contacts", organization=synced_org.slug, yes=True, by="alice")

    synced_org.refresh_from_db()
    assert synced_org.contacts_disconnected_by == user
    assert LogEntry.objects.filter(user=user).exists()


def test_command_without_yes_asks_and_stops_unless_told_yes(synced_org, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")

    with pytest.raises(CommandError) as error:
        call_command("disconnect_contacts", organization=synced_org.slug)

    assert error.value.returncode == 1
    synced_org.refresh_from_db()
    assert not synced_org.contacts_are_managed


def test_command_without_yes_disconnects_when_the_answer_is_yes(synced_org, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")

    call_command("disconnect_contacts", organization=synced_org.slug)

    synced_org.refresh_from_db()
    assert synced_org.contacts_are_managed


def test_command_with_unknown_slug_exits_2():
    with pytest.raises(CommandError) as error:
        call_command("disconnect_contacts", organization="nope", yes=True)

    assert error.value.returncode == 2
    assert 'No organization has the slug "nope".' in str(error.value)


def test_command_on_disconnected_organization_says_so_and_succeeds(capsys):
    organization = OrganizationFactory()

    call_command("disconnect_contacts", organization=organization.slug, yes=True)

    assert "already disconnected" in capsys.readouterr().out
