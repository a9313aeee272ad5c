"""The bulk writers: PostgreSQL's COPY path writes exactly what the multi-row statements write."""

import datetime

import pytest
from django.utils import timezone

from contacts import db_bulk
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.services.bulk import contacts_bulk_upsert
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import actor, bulk_row, postgresql_only

pytestmark = pytest.mark.django_db

FIELDS = ("external_id", "email", "first_name", "last_name", "phone", "occupation", "is_main", "source")


def arranged_organization():
    """An organization with two customers, a stored main contact and a stored plain contact."""
    org = OrganizationFactory()
    first, second = (CustomerFactory(organization=org, external_id=code) for code in ("AC-1", "AC-2"))
    ContactFactory(
        customer=first, external_id="OLD-MAIN", email="main@b.example", last_name="M", is_main=True
    )
    ContactFactory(customer=second, external_id="OLD-2", email="two@b.example", last_name="Before")
    return org, first, second


def written_state(org) -> list[tuple]:
    return sorted(
        (contact.customer.external_id, *(getattr(contact, name) for name in FIELDS))
        for contact in Contact.objects.filter(organization=org).select_related("customer")
    )


def run_the_same_file(org, first, second) -> list:
    rows = [
        bulk_row(2, first, "NEW-1", "New.One@B.example", first_name="Élodie", phone="06 12 34 56 78"),
        bulk_row(3, first, "NEW-2", "new2@b.example", is_main="oui", occupation="sales"),
        bulk_row(4, second, "OLD-2", "two@b.example", last_name="After", occupation="PAYER"),
        bulk_row(5, second, "NEW-3", "new3@b.example", last_name='O\'Brien; "quoted"\\tab'),
    ]
    written = contacts_bulk_upsert(organization=org, rows=rows, actor=actor("import")).written
    return sorted((w.external_id, w.before) for w in written)


@postgresql_only
def test_copy_writes_the_same_contacts_as_multi_row_statements(monkeypatch):
    copied = arranged_organization()
    copied_written = run_the_same_file(*copied)
    monkeypatch.setattr(db_bulk, "COPY_ON_POSTGRESQL", False)
    inserted = arranged_organization()
    inserted_written = run_the_same_file(*inserted)

    assert copied_written == inserted_written
    assert written_state(copied[0]) == written_state(inserted[0])
    assert ("AC-1", "NEW-2", "new2@b.example", "", "", "", "SALES", True, "import") in written_state(
        copied[0]
    )


@postgresql_only
@pytest.mark.parametrize("copies", [True, False])
def test_json_and_dates_are_written_as_the_orm_reads_them(monkeypatch, copies):
    monkeypatch.setattr(db_bulk, "COPY_ON_POSTGRESQL", copies)
    org = OrganizationFactory()
    batch = ImportBatch.objects.create(
        organization=org, file_name="c.csv", sha256="0" * 64, status="committed"
    )
    moment = timezone.now() - datetime.timedelta(days=3)
    previous = {"email": "old@b.example", "is_main": True, "first_name": 'Zoë "Z"'}

    db_bulk.insert_rows(
        ContactChange,
        ["external_id", "action", "before", "channel", "actor", "at"],
        [
            ("K-1", "updated", previous, "import", "", moment),
            ("K-2", "created", None, "import", "", moment),
        ],
        returning=False,
        constants={"organization_id": org.pk, "batch_id": batch.pk},
    )
    ids = db_bulk.insert_rows(
        Contact,
        [
            "organization_id",
            "customer_id",
            "external_id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "occupation",
            "is_main",
            "source",
            "created_at",
            "updated_at",
        ],
        [
            (
                org.pk,
                CustomerFactory(organization=org).pk,
                "K-3",
                "k3@b.example",
                "",
                "",
                "",
                "",
                False,
                "api",
                moment,
                moment,
            )
        ],
    )

    stored = dict(ContactChange.objects.values_list("external_id", "before"))
    assert stored == {"K-1": previous, "K-2": None}
    assert set(ContactChange.objects.values_list("at", "batch_id")) == {(moment, batch.pk)}
    assert Contact.objects.get(pk=ids[0]).updated_at == moment
