"""`manage.py erase_contact --organization SLUG --external-id ID [--by USERNAME] [--yes]`."""

import pytest

from contacts.management.commands.erase_contact import NOT_ERASED, UNKNOWN_ORGANIZATION
from contacts.models import Contact, ContactChange
from contacts.services.erasure import NOTHING_TO_ERASE
from tests.factories import ContactFactory, UserFactory
from tests.helpers import command

pytestmark = pytest.mark.django_db


def test_erase_asks_for_confirmation_and_erases_on_yes(org):
    ContactFactory(customer__organization=org, external_id="P-1", email="anne@client.example")
    UserFactory(username="dpo")

    status, out, _err = command(
        "erase_contact", "--organization", org.slug, "--external-id", "P-1", "--by", "dpo", stdin="yes\n"
    )

    assert status == 0
    assert "cannot be undone" in out
    assert 'Erased "P-1"' in out
    assert not Contact.objects.exists()
    assert ContactChange.objects.get().actor == "dpo (command line)"


def test_without_yes_nothing_is_erased(org):
    ContactFactory(customer__organization=org, external_id="P-1")

    status, _out, err = command(
        "erase_contact", "--organization", org.slug, "--external-id", "P-1", stdin="no\n"
    )

    assert (status, err) == (1, str(NOT_ERASED))
    assert Contact.objects.count() == 1


def test_exit_1_for_nothing_to_erase_and_2_for_an_unknown_organization(org):
    missing = command("erase_contact", "--organization", org.slug, "--external-id", "NOPE", "--yes")
    unknown = command("erase_contact", "--organization", "nope", "--external-id", "P-1", "--yes")

    assert missing == (1, "", NOTHING_TO_ERASE % {"organization": org.name, "code": "NOPE"})
    assert unknown == (2, "", UNKNOWN_ORGANIZATION % {"slug": "nope"})
