"""Undoing an import: what it deletes and restores, its conflicts, main contacts, and its refusals."""

import pytest
from django.core.exceptions import ValidationError

from contacts.importing.pipeline import commit_import
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.selectors import committed_imports_this_month
from contacts.services.contacts import contact_delete, contact_update
from contacts.services.undo import (
    ALREADY_UNDONE,
    FAILED_IMPORT,
    IMPORT_OF_ANOTHER_ORGANIZATION,
    LATER_IMPORT,
    NOBODY,
    NOT_COMMITTED,
    UndoRefused,
    import_undo,
    plan_undo,
)
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import actor, contact_row, csv_bytes

pytestmark = pytest.mark.django_db


def imported(org, rows, name="c.csv"):
    return commit_import(organization=org, data=csv_bytes(rows), filename=name).batch


def undo(org, batch, **options):
    return import_undo(organization=org, batch_id=batch.pk, actor=actor("undo"), **options)


def state(org) -> list[tuple]:
    return list(
        Contact.objects.filter(organization=org)
        .order_by("external_id")
        .values_list("external_id", "email", "last_name", "is_main", "source")
    )


def test_undo_deletes_what_the_import_created_and_restores_what_it_changed(org, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 5
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-OLD", email="old@b.example", last_name="Martin")
    before = state(org)
    batch = imported(
        org,
        [
            contact_row(customer, "C-OLD", "changed@b.example", last_name="Martin-Dubois"),
            contact_row(customer, "C-NEW", "new@b.example"),
        ],
    )

    plan = undo(org, batch)

    assert state(org) == before
    assert plan.totals == {"deleted": 1, "restored": 1, "conflicts": 0, "left": 0, "demoted": 0}
    batch.refresh_from_db()
    assert (batch.status, batch.undone_deleted, batch.undone_restored, batch.undone_left) == (
        "undone",
        1,
        1,
        0,
    )
    assert batch.undone_at is not None
    undo_entries = ContactChange.objects.filter(channel="undo")
    assert sorted((e.external_id, e.action, e.batch_id) for e in undo_entries) == [
        ("C-NEW", "deleted", batch.pk),
        ("C-OLD", "updated", batch.pk),
    ]
    restored = undo_entries.get(external_id="C-OLD")
    assert restored.after == {  # the file's blank first name kept the stored one: nothing to restore
        "email": "old@b.example",
        "last_name": "Martin",
        "source": "manual",
    }


def test_undo_records_who_undid_the_import(org):
    customer = CustomerFactory(organization=org)
    batch = imported(org, [contact_row(customer, "C-1", "a@b.example")])
    support = UserFactory(username="support-1")

    import_undo(organization=org, batch_id=batch.pk, actor=actor("undo", user=support))

    batch.refresh_from_db()
    assert batch.undone_by == support
    assert ContactChange.objects.get(channel="undo").actor == "support-1"


def test_a_contact_changed_after_the_import_is_a_conflict_left_alone(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1", email="a@b.example", last_name="Old")
    batch = imported(
        org,
        [
            contact_row(customer, "C-1", "a@b.example", last_name="Imported"),
            contact_row(customer, "C-2", "b@b.example"),
        ],
    )
    contact_update(contact=Contact.objects.get(external_id="C-1"), actor=actor(), first_name="Edited")

    preview = plan_undo(organization=org, batch_id=batch.pk)
    plan = undo(org, batch)

    assert [t.external_id for t in preview.conflicts] == ["C-1"]
    assert [(e.channel, e.action) for e in preview.conflicts[0].later] == [("admin", "updated")]
    assert plan.totals["left"] == 1
    kept = Contact.objects.get(external_id="C-1")
    assert (kept.last_name, kept.first_name) == ("Imported", "Edited")
    assert not Contact.objects.filter(external_id="C-2").exists()
    batch.refresh_from_db()
    assert batch.undone_left == 1


def test_include_conflicts_restores_the_contacts_changed_since_too(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1", email="a@b.example", last_name="Old")
    batch = imported(org, [contact_row(customer, "C-1", "a@b.example", last_name="Imported")])
    contact_update(contact=Contact.objects.get(external_id="C-1"), actor=actor(), last_name="Edited")

    plan = undo(org, batch, include_conflicts=True)

    assert Contact.objects.get(external_id="C-1").last_name == "Old"
    assert (plan.totals["conflicts"], plan.totals["left"]) == (1, 0)


def test_a_contact_deleted_since_stays_deleted_even_when_forced(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1", email="a@b.example", last_name="Old")
    batch = imported(org, [contact_row(customer, "C-1", "a@b.example", last_name="Imported")])
    contact_delete(contact=Contact.objects.get(external_id="C-1"), actor=actor("api"))

    plan = undo(org, batch, include_conflicts=True)

    assert not Contact.objects.filter(external_id="C-1").exists()
    assert [(t.external_id, t.current) for t in plan.conflicts] == [("C-1", None)]


def test_undoing_twice_is_refused(org):
    customer = CustomerFactory(organization=org)
    batch = imported(org, [contact_row(customer, "C-1", "a@b.example")])
    undo(org, batch)
    entries = ContactChange.objects.count()

    with pytest.raises(UndoRefused) as refused:
        undo(org, batch)

    assert refused.value.code == "already_undone"
    params = refused.value.params
    assert refused.value.messages == [ALREADY_UNDONE % {**params, "batch": batch.pk, "who": str(NOBODY)}]
    assert ContactChange.objects.count() == entries


def test_a_failed_import_cannot_be_undone(org):
    batch = ImportBatch.objects.create(
        organization=org, file_name="x.csv", sha256="0", format="csv", status="failed"
    )

    with pytest.raises(UndoRefused) as refused:
        undo(org, batch)

    assert refused.value.messages == [FAILED_IMPORT % {"batch": batch.pk}]


@pytest.mark.parametrize("status", ["queued", "running"])
def test_an_import_not_committed_yet_cannot_be_undone(org, status):
    customer = CustomerFactory(organization=org)
    batch = imported(org, [contact_row(customer, "C-1", "a@b.example")])
    ImportBatch.objects.filter(pk=batch.pk).update(status=status)
    entries = ContactChange.objects.count()

    with pytest.raises(UndoRefused) as refused:
        undo(org, batch)
    with pytest.raises(UndoRefused) as previewed:
        plan_undo(organization=org, batch_id=batch.pk)

    shown = ImportBatch.Status(status).label
    assert refused.value.messages == [NOT_COMMITTED % {"batch": batch.pk, "status": shown}]
    assert previewed.value.code == refused.value.code == "not_committed"
    assert (Contact.objects.count(), ContactChange.objects.count()) == (1, entries)
    assert ImportBatch.objects.get(pk=batch.pk).status == status


def test_another_organizations_import_is_refused_and_nothing_changes(org):
    other = OrganizationFactory(name="Other")
    batch = imported(other, [contact_row(CustomerFactory(organization=other), "C-1", "a@b.example")])

    with pytest.raises(UndoRefused) as refused:
        undo(org, batch)

    assert refused.value.messages == [
        IMPORT_OF_ANOTHER_ORGANIZATION % {"batch": batch.pk, "organization": org.name}
    ]
    assert Contact.objects.filter(organization=other).count() == 1
    batch.refresh_from_db()
    assert batch.status == "committed"


def test_a_later_import_of_the_same_contacts_must_be_undone_first(org, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 5
    customer = CustomerFactory(organization=org)
    first = imported(org, [contact_row(customer, "C-1", "a@b.example", last_name="First")], "first.csv")
    second = imported(org, [contact_row(customer, "C-1", "a@b.example", last_name="Second")], "second.csv")

    with pytest.raises(UndoRefused) as refused:
        undo(org, first)
    assert refused.value.code == "later_import"
    assert refused.value.params["later"] == second.pk
    assert "second.csv" in refused.value.messages[0]
    assert refused.value.messages == [LATER_IMPORT % refused.value.params]

    undo(org, second)
    undo(org, first)

    assert not Contact.objects.filter(organization=org).exists()


def test_main_contacts_come_back_as_they_were(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="MAIN", email="main@b.example", is_main=True)
    ContactFactory(customer=customer, external_id="OTHER", email="other@b.example")
    before = state(org)
    batch = imported(
        org,
        [
            contact_row(customer, "OTHER", "other@b.example", first_name="Camille", is_main="1"),
            contact_row(customer, "NEW", "new@b.example"),
        ],
    )
    assert Contact.objects.get(is_main=True).external_id == "OTHER"

    undo(org, batch)

    assert state(org) == before
    assert Contact.objects.get(customer=customer, is_main=True).external_id == "MAIN"


def test_a_new_main_contact_created_by_the_import_gives_the_place_back(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="MAIN", email="main@b.example", is_main=True)
    batch = imported(org, [contact_row(customer, "NEW", "new@b.example", is_main="yes")])

    undo(org, batch)

    assert list(Contact.objects.filter(customer=customer).values_list("external_id", "is_main")) == [
        ("MAIN", True)
    ]


def test_restoring_a_main_contact_after_someone_else_was_made_main_is_a_conflict(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="MAIN", email="main@b.example", is_main=True)
    later_main = ContactFactory(customer=customer, external_id="LATER", email="later@b.example")
    batch = imported(org, [contact_row(customer, "NEW", "new@b.example", is_main="yes")])
    contact_update(contact=later_main, actor=actor(), is_main=True)

    left = plan_undo(organization=org, batch_id=batch.pk)
    forced = undo(org, batch, include_conflicts=True)

    assert {t.external_id for t in left.conflicts} == {"NEW", "MAIN"}
    assert forced.totals["demoted"] == 1
    mains = Contact.objects.filter(customer=customer, is_main=True)
    assert list(mains.values_list("external_id", flat=True)) == ["MAIN"]
    assert not Contact.objects.filter(external_id="NEW").exists()


def test_an_undone_import_gives_the_months_import_back_and_the_file_can_be_imported_again(org, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 1
    customer = CustomerFactory(organization=org)
    rows = [contact_row(customer, "C-1", "a@b.example")]
    batch = imported(org, rows)
    assert committed_imports_this_month(org) == 1

    undo(org, batch)
    again = commit_import(organization=org, data=csv_bytes(rows), filename="c.csv")

    assert again.committed is True
    assert committed_imports_this_month(org) == 1
    assert Contact.objects.get().external_id == "C-1"


def test_a_restore_the_database_refuses_changes_nothing(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1", email="first@b.example")
    batch = imported(org, [contact_row(customer, "C-1", "moved@b.example")])
    # Since the import, another contact took the address the undo would give back: a conflict of
    # another contact, which the unique constraint refuses.
    ContactFactory(customer=customer, external_id="C-2", email="first@b.example")
    before = state(org), ContactChange.objects.count()

    with pytest.raises(ValidationError) as refused:
        undo(org, batch)

    assert refused.value.code == "conflict"
    assert (state(org), ContactChange.objects.count()) == before
    batch.refresh_from_db()
    assert batch.status == "committed"


def test_a_synced_organization_cannot_undo(synced_org):
    batch = ImportBatch.objects.create(
        organization=synced_org, file_name="x.csv", sha256="0", format="csv", status="committed"
    )

    with pytest.raises(ValidationError) as refused:
        undo(synced_org, batch)

    assert refused.value.code == "contacts_synced"
    assert ContactChange.objects.count() == 0


def test_the_scan_for_later_changes_reads_only_the_imported_contacts_entries(org, monkeypatch):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1", email="a@b.example", last_name="Old")
    batch = imported(org, [contact_row(customer, "C-1", "a@b.example", last_name="Imported")])
    for other in ContactFactory.create_batch(5, customer=customer):
        contact_update(contact=other, actor=actor(), first_name="Busy")
    contact_update(contact=Contact.objects.get(external_id="C-1"), actor=actor(), first_name="Edited")
    loaded = []
    from_db = ContactChange.from_db.__func__

    def counted(cls, db, field_names, values):
        entry = from_db(cls, db, field_names, values)
        loaded.append(entry.external_id)
        return entry

    monkeypatch.setattr(ContactChange, "from_db", classmethod(counted))

    plan = plan_undo(organization=org, batch_id=batch.pk)

    assert [t.external_id for t in plan.conflicts] == ["C-1"]
    assert loaded == ["C-1"]
