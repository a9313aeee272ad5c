import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from contacts.management.commands.seed_demo import SUPPORT_GROUP
from contacts.models import Contact
from customers.models import Customer, Organization

pytestmark = pytest.mark.django_db


def counts():
    return (Organization.objects.count(), Customer.objects.count(), Contact.objects.count())


def test_seed_demo_creates_one_synced_and_one_disconnected_organization(settings):
    settings.DEBUG = False

    call_command("seed_demo")

    sources = dict(Organization.objects.values_list("slug", "contacts_source"))
    assert sorted(sources.values()) == ["invoicing", "managed"]
    assert Customer.objects.count() >= 24
    assert Contact.objects.count() >= 24
    for customer in Customer.objects.prefetch_related("contacts"):
        assert sum(c.is_main for c in customer.contacts.all()) <= 1


def test_seed_demo_is_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    first = counts()

    call_command("seed_demo")

    assert counts() == first
    assert get_user_model().objects.count() == 2


def test_support_staff_group_can_edit_contacts_but_not_disconnect():
    call_command("seed_demo")

    codenames = set(Group.objects.get(name=SUPPORT_GROUP).permissions.values_list("codename", flat=True))
    assert {"view_contact", "add_contact", "change_contact", "view_customer"} <= codenames
    assert "disconnect_contacts" not in codenames
    assert "delete_contact" not in codenames


def test_demo_users_exist_only_in_debug(settings, capsys):
    settings.DEBUG = False
    call_command("seed_demo")
    assert not get_user_model().objects.exists()

    settings.DEBUG = True
    call_command("seed_demo")

    support = get_user_model().objects.get(username="support")
    assert support.groups.filter(name=SUPPORT_GROUP).exists()
    assert support.check_password("support")
    assert "support / support" in capsys.readouterr().out
