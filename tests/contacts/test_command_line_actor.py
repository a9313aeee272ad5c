"""Every management command that writes contacts names itself "command line" in the change log (with
its --by user's name when it has one), whatever its channel."""

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from contacts.models import ContactChange
from tests.factories import ContactFactory, CustomerFactory, UserFactory
from tests.helpers import command, contact_row, csv_bytes

pytestmark = pytest.mark.django_db


def actors() -> list[tuple[str, str, str]]:
    return sorted(set(ContactChange.objects.values_list("channel", "action", "actor")))


def imported_by_command(org, tmp_path, *by: str) -> int:
    path = tmp_path / "c.csv"
    path.write_bytes(csv_bytes([contact_row(CustomerFactory(organization=org), "C-1", "a@b.example")]))
    status, _out, err = command("import_contacts", path, "--organization", org.slug, "--commit", *by)
    assert status == 0, err
    return ContactChange.objects.get(action="created").batch_id


def test_import_contacts_and_undo_import_are_the_command_line(org, tmp_path):
    batch = imported_by_command(org, tmp_path)

    command("undo_import", batch)

    assert actors() == [("import", "created", "command line"), ("undo", "deleted", "command line")]


def test_a_by_user_is_named_with_the_command_line(org, tmp_path):
    user = UserFactory(username="support")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["undo_import", "import_contacts"]))
    batch = imported_by_command(org, tmp_path, "--by", "support")

    command("undo_import", batch, "--by", "support")

    assert actors() == [
        ("import", "created", "support (command line)"),
        ("undo", "deleted", "support (command line)"),
    ]
    assert set(ContactChange.objects.values_list("user__username", flat=True)) == {"support"}


def test_erase_contact_is_the_command_line(org):
    ContactFactory(customer__organization=org, external_id="P-1")

    command("erase_contact", "--organization", org.slug, "--external-id", "P-1", "--yes")

    assert actors() == [("command", "erased", "command line")]


def test_seed_demos_writes_are_logged_as_the_command_line(settings):
    settings.DEBUG = False

    call_command("seed_demo")

    assert actors() == [("command", "created", "command line"), ("invoicing", "created", "seed_demo")]
    assert ContactChange.objects.filter(channel="command").count() >= 12
