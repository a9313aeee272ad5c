import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.importing.pipeline import commit_import, preview_import
from contacts.models import Contact
from contacts.services import bulk, changelog
from contacts.services.bulk import contacts_bulk_upsert
from contacts.services.rows import RowInput
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import actor, contact_row, csv_bytes

pytestmark = pytest.mark.django_db
# Locks, savepoints and the batch rows: a few queries whatever the file's size.
CONSTANT = 3
# SQLite caps a statement at 999 parameters, so Django cuts 1,000 rows into more, smaller batches
# (83 contacts per INSERT): a dozen more queries for 1,000 rows, never one per row.
SMALL_BATCHES = 20 if connection.vendor == "sqlite" else 0


def file_for(org, size: int) -> bytes:
    """`size` rows over size/5 customers: half update existing contacts (one is made main), half are new."""
    customers = CustomerFactory.create_batch(max(1, size // 5), organization=org)
    rows = []
    for n in range(size):
        customer = customers[n % len(customers)]
        if n % 2:
            contact = ContactFactory(customer=customer, is_main=n < len(customers))
            rows.append(
                contact_row(customer, contact.external_id, f"changed{n}@b.example", phone="0612345678")
            )
        else:
            rows.append(contact_row(customer, f"NEW-{n}", f"new{n}@b.example", is_main="1" if n == 0 else ""))
    return csv_bytes(rows)


def count_queries(action) -> int:
    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries)


def test_preview_of_1000_rows_costs_no_more_queries_than_10():
    small_org, large_org = OrganizationFactory(), OrganizationFactory()
    small, large = file_for(small_org, 10), file_for(large_org, 1000)

    small_count = count_queries(lambda: preview_import(organization=small_org, data=small, filename="s.csv"))
    large_count = count_queries(lambda: preview_import(organization=large_org, data=large, filename="l.csv"))

    # The customers, the contacts, the organization's saved profile, an earlier import of the same file.
    assert small_count <= 4
    assert large_count <= small_count + CONSTANT


def test_commit_of_1000_rows_costs_no_more_queries_than_10():
    small_org, large_org = OrganizationFactory(), OrganizationFactory()
    small, large = file_for(small_org, 10), file_for(large_org, 1000)

    small_count = count_queries(lambda: commit_import(organization=small_org, data=small, filename="s.csv"))
    large_count = count_queries(lambda: commit_import(organization=large_org, data=large, filename="l.csv"))

    assert Contact.objects.filter(organization=large_org, source="import").count() == 1000
    assert large_count <= small_count + CONSTANT + SMALL_BATCHES


def test_api_rows_cost_queries_per_batch_not_per_row(monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_SIZE", 100)

    def run(size: int) -> int:
        org = OrganizationFactory()
        customer = CustomerFactory(organization=org)
        rows = [
            RowInput(
                row=n,
                values={
                    "customer_external_id": customer.external_id,
                    "external_id": f"C-{n}",
                    "email": f"{n}@b.ex",
                },
            )
            for n in range(size)
        ]

        def write():
            contacts_bulk_upsert(organization=org, rows=rows, actor=actor("api"), row_label="item")

        return count_queries(write)

    ten, thousand = run(10), run(1000)

    # 1,000 rows are about ten batches of inserts of contacts and ten of their change log entries
    # (SQLite caps a statement at 999 parameters: 83 contacts, 141 entries): a score more queries,
    # not 990.
    contacts_per_insert, entries_per_insert = 999 // 12, 999 // len(changelog.ENTRY_COLUMNS)
    assert thousand <= ten + -(-1000 // contacts_per_insert) + -(-1000 // entries_per_insert)
