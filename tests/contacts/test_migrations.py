"""The change log's migrations: the import history's rows move into the log, Support staff may undo."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("contacts", "0008_blank_cells_policy")]
AFTER = [("contacts", "0010_support_staff_change_log_permissions")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_import_changes_become_log_entries_and_support_staff_get_undo():
    apps = migrate(BEFORE)
    try:
        Organization = apps.get_model("customers", "Organization")
        Customer = apps.get_model("customers", "Customer")
        Contact = apps.get_model("contacts", "Contact")
        Batch = apps.get_model("contacts", "ImportBatch")
        Change = apps.get_model("contacts", "ImportedContactChange")
        User = apps.get_model("auth", "User")
        Group = apps.get_model("auth", "Group")
        org = Organization.objects.create(
            name="Acme", slug="acme", contacts_source="managed", contacts_disconnected_at=timezone.now()
        )
        customer = Customer.objects.create(organization=org, name="C", external_id="C-1")
        kept = Contact.objects.create(
            organization=org, customer=customer, external_id="K-1", email="k@b.example"
        )
        user = User.objects.create(username="importer")
        batch = Batch.objects.create(
            organization=org, user=user, file_name="a.csv", sha256="0", format="csv", status="committed"
        )
        Change.objects.create(
            batch=batch, contact=kept, external_id="K-1", action="updated", previous={"email": "o@b.example"}
        )
        Change.objects.create(batch=batch, contact=None, external_id="GONE", action="created", previous=None)
        Group.objects.create(name="Support staff")

        apps = migrate(AFTER)

        Entry = apps.get_model("contacts", "ContactChange")
        columns = (
            "external_id",
            "action",
            "channel",
            "contact_id",
            "customer_id",
            "batch_id",
            "actor",
            "before",
        )
        assert list(Entry.objects.order_by("pk").values_list(*columns, "seq")) == [
            (
                "K-1",
                "updated",
                "import",
                kept.pk,
                customer.pk,
                batch.pk,
                "importer",
                {"email": "o@b.example"},
                None,
            ),
            ("GONE", "created", "import", None, None, batch.pk, "importer", None, None),
        ]
        group = apps.get_model("auth", "Group").objects.get(name="Support staff")
        assert set(group.permissions.values_list("codename", flat=True)) == {
            "undo_import",
            "view_contactchange",
        }
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_control_characters_stored_before_are_cleaned_and_logged():
    apps = migrate([("contacts", "0010_support_staff_change_log_permissions")])
    try:
        Organization = apps.get_model("customers", "Organization")
        Customer = apps.get_model("customers", "Customer")
        Contact = apps.get_model("contacts", "Contact")
        org = Organization.objects.create(
            name="Acme", slug="acme", contacts_source="managed", contacts_disconnected_at=timezone.now()
        )
        customer = Customer.objects.create(
            organization=org, name="Cabinet\x07 Laurent", external_id="C-1\x01"
        )
        hostile = Contact.objects.create(
            organization=org,
            customer=customer,
            external_id="K-1\x01",
            email="a\x01@b.example",
            first_name="Jeanne\x01",
            last_name="Ro\x07ux\nMartin",
        )
        taken = Contact.objects.create(
            organization=org, customer=customer, external_id="K-2\x07", email="k2@b.example"
        )
        Contact.objects.create(organization=org, customer=customer, external_id="K-2", email="x@b.example")
        clean = Contact.objects.create(
            organization=org, customer=customer, external_id="K-3", email="c@b.example", first_name="Léa"
        )

        apps = migrate([("contacts", "0011_clean_control_characters")])

        Contact = apps.get_model("contacts", "Contact")
        fields = ("external_id", "email", "first_name", "last_name")
        assert Contact.objects.filter(pk=hostile.pk).values_list(*fields).get() == (
            "K-1",
            "a@b.example",
            "Jeanne",
            "Roux Martin",
        )
        # Cleaned, this code would name another contact: left for a person to fix.
        assert Contact.objects.get(pk=taken.pk).external_id == "K-2\x07"
        assert Contact.objects.get(pk=clean.pk).first_name == "Léa"
        customer = apps.get_model("customers", "Customer").objects.get()
        assert (customer.name, customer.external_id) == ("Cabinet Laurent", "C-1")
        Entry = apps.get_model("contacts", "ContactChange")
        [entry] = Entry.objects.all()
        assert (entry.contact_id, entry.channel, entry.seq, entry.external_id) == (
            hostile.pk,
            "command",
            1,
            "K-1",
        )
        assert entry.after == {
            "external_id": "K-1",
            "email": "a@b.example",
            "first_name": "Jeanne",
            "last_name": "Roux Martin",
        }
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
