"""`manage.py undo_import BATCH_ID [--dry-run] [--include-conflicts] [--json] [--by USERNAME]`."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from django.utils.formats import date_format

from contacts.importing.pipeline import commit_import
from contacts.management.commands.undo_import import KEEPS_MAIN, NOT_ALLOWED, UNKNOWN_USER
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.services.contacts import contact_update
from contacts.services.undo import ALREADY_UNDONE, NO_SUCH_IMPORT, NOBODY
from tests.factories import ContactFactory, CustomerFactory, UserFactory
from tests.helpers import actor, command, contact_row, csv_bytes

pytestmark = pytest.mark.django_db


def an_import(org):
    """An import that created C-NEW and changed C-OLD, which was edited in the admin afterwards."""
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-OLD", email="old@b.example", last_name="Old")
    rows = [
        contact_row(customer, "C-OLD", "old@b.example", last_name="Imported"),
        contact_row(customer, "C-NEW", "new@b.example"),
    ]
    batch = commit_import(organization=org, data=csv_bytes(rows), filename="c.csv").batch
    contact_update(contact=Contact.objects.get(external_id="C-OLD"), actor=actor(), first_name="Edited")
    return batch


def test_import_contacts_json_gives_the_batch_that_undo_import_takes(org, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(csv_bytes([contact_row(CustomerFactory(organization=org), "C-1", "a@b.example")]))

    _status, out, _err = command("import_contacts", path, "--organization", org.slug, "--commit", "--json")
    status, _out, _err = command("undo_import", json.loads(out)["batch"])

    assert status == 0
    assert Contact.objects.count() == 0


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(org):
    batch = an_import(org)
    before = list(Contact.objects.values_list("external_id", "last_name")), ContactChange.objects.count()

    status, out, _err = command("undo_import", batch.pk, "--dry-run", "--json")

    assert status == 0
    result = json.loads(out)
    assert (result["batch"], result["undone"], result["organization"]) == (batch.pk, False, org.slug)
    assert result["totals"] == {"deleted": 1, "restored": 0, "conflicts": 1, "left": 1, "demoted": 0}
    assert [(c["externalId"], c["changes"][0]["channel"]) for c in result["conflicts"]] == [
        ("C-OLD", "admin")
    ]
    assert (
        list(Contact.objects.values_list("external_id", "last_name")),
        ContactChange.objects.count(),
    ) == before


def test_undo_leaves_conflicts_alone_and_prints_a_summary(org):
    batch = an_import(org)

    status, out, _err = command("undo_import", batch.pk)

    assert status == 0
    assert f"Undone: import #{batch.pk}" in out
    assert "conflict C-OLD" in out
    assert list(Contact.objects.values_list("external_id", "last_name")) == [("C-OLD", "Imported")]


def test_include_conflicts_restores_them_too(org):
    batch = an_import(org)

    status, _out, _err = command("undo_import", batch.pk, "--include-conflicts", "--json")

    assert status == 0
    assert list(Contact.objects.values_list("external_id", "last_name")) == [("C-OLD", "Old")]


def test_a_dry_run_reports_a_new_main_contact_kept_for_its_customer(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="MAIN", email="main@b.example", is_main=True)
    ContactFactory(customer=customer, external_id="OTHER", email="other@b.example")
    rows = [contact_row(customer, "NEW", "new@b.example", is_main="yes")]
    batch = commit_import(organization=org, data=csv_bytes(rows), filename="c.csv").batch
    contact_update(contact=Contact.objects.get(external_id="MAIN"), actor=actor(), first_name="Edited")

    status, out, _err = command("undo_import", batch.pk, "--dry-run", "--json")

    assert status == 0
    result = json.loads(out)
    assert {c["externalId"]: c["keepsMain"] for c in result["conflicts"]} == {"MAIN": False, "NEW": True}
    assert Contact.objects.get(is_main=True).external_id == "NEW"


def test_a_new_main_contact_whose_predecessor_is_gone_is_kept_and_said(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="MAIN", email="main@b.example", is_main=True)
    ContactFactory(customer=customer, external_id="OTHER", email="other@b.example")
    rows = [contact_row(customer, "NEW", "new@b.example", is_main="yes")]
    batch = commit_import(organization=org, data=csv_bytes(rows), filename="c.csv").batch
    Contact.objects.filter(external_id="MAIN").delete()

    status, out, _err = command("undo_import", batch.pk, "--include-conflicts")

    assert status == 0
    assert f"conflict NEW: {KEEPS_MAIN % {'previous': 'MAIN'}}" in out
    assert Contact.objects.get(is_main=True).external_id == "NEW"


def test_by_records_the_user_who_needs_the_permission(org):
    batch = an_import(org)
    clerk = UserFactory(username="clerk")
    support = UserFactory(username="support")
    support.user_permissions.add(Permission.objects.get(codename="undo_import"))

    refused = command("undo_import", batch.pk, "--by", "clerk")
    done = command("undo_import", batch.pk, "--by", "support")

    assert refused == (1, "", NOT_ALLOWED % {"username": "clerk"})
    assert done[0] == 0
    batch.refresh_from_db()
    assert (batch.status, batch.undone_by) == ("undone", support)
    assert clerk.pk != support.pk


def test_exit_1_when_refused_and_2_for_usage_errors(org):
    batch = an_import(org)
    command("undo_import", batch.pk)

    again = command("undo_import", batch.pk)
    unknown_batch = command("undo_import", 999_999)
    unknown_user = command("undo_import", batch.pk, "--by", "nobody")

    assert again[0] == 1
    assert again[2] == ALREADY_UNDONE % {"batch": batch.pk, **_when_and_who(batch)}
    assert unknown_batch == (2, "", NO_SUCH_IMPORT % {"batch": 999_999})
    assert unknown_user == (2, "", UNKNOWN_USER % {"username": "nobody"})
    assert ImportBatch.objects.get().status == "undone"


def _when_and_who(batch) -> dict:
    batch.refresh_from_db()
    return {
        "when": date_format(timezone.localtime(batch.undone_at), "SHORT_DATETIME_FORMAT"),
        "who": str(NOBODY),
    }
