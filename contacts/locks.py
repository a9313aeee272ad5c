"""Row locks, all taken here, in one order: the organization, then an import batch (undo), then its
customers by ascending id, then contacts.

Who takes what:
- writers of many contacts (a file import, a bulk API call, an undo) lock the organization, then every
  customer they will write to, before they read the contacts they plan from;
- an undo locks the organization, then the import batch it undoes (its status decides whether it
  may run: whatever changes the status waits), then the customers;
- writers of one contact (admin form and inline, API PUT/PATCH/DELETE) lock its customer only, then
  read the contact again under that lock;
- disconnecting an organization from the invoicing sync locks the organization (lock_organization).

Two writers that take locks in different orders deadlock on PostgreSQL, and a plan made from rows
read before the locks writes back stale values (a lost update): hence one module and one order.

The locks are PostgreSQL's FOR NO KEY UPDATE, never FOR UPDATE. Inserting a contact checks its foreign
keys at COMMIT (Django's constraints are deferred) with FOR KEY SHARE on the customer and the
organization, which FOR UPDATE blocks and FOR NO KEY UPDATE does not: a bulk call holding the
organization FOR UPDATE deadlocked with any single write of a customer it also named (issue 8:
14 of 14 tries), and every contact created in the organization queued behind it. Single writers
never lock the organization, so they do not wait for an import. SQLite locks the whole database for
each write transaction (IMMEDIATE), so these are no-ops there.
"""

from collections.abc import Iterable

from django.db import connection

from contacts.db_bulk import in_slices
from contacts.models import ImportBatch
from customers.models import Customer, Organization


def lock_organization(organization_id: int) -> Organization:
    """Serialize the writers of many contacts of one organization (imports, bulk calls, undo)."""
    return Organization.objects.select_for_update(no_key=True).get(pk=organization_id)


def lock_import_batch(*, organization_id: int, batch_id: int) -> None:
    """Lock the organization's import batch, if it has one by that id (after lock_organization)."""
    batches = ImportBatch.objects.filter(pk=batch_id, organization_id=organization_id)
    list(batches.select_for_update(no_key=True).values_list("pk", flat=True))


def lock_customers(*, organization_id: int, customer_ids: Iterable[int]) -> None:
    """Lock these customers of the organization, in ascending id order (after lock_organization).

    Only these: a bulk call naming 1,000 customers must not block the writers of the others.
    """
    if not connection.features.has_select_for_update:
        return  # SQLite: the write transaction already holds the whole database
    ids = sorted(set(customer_ids))
    customers = Customer.objects.filter(organization_id=organization_id)
    # Slice after slice (db_bulk.in_slices), in ascending order across slices too.
    for chunk in in_slices(ids):
        # The rows are locked in the ORDER BY's order (PostgreSQL sorts before it locks).
        list(
            customers.filter(pk__in=chunk)
            .order_by("pk")
            .select_for_update(no_key=True)
            .values_list("pk", flat=True)
        )


def lock_customer(customer_id: int) -> Customer:
    """Serialize the writes to one customer's contacts (the main-contact rule spans its rows)."""
    # No select_related: a join would lock the organization's row too, and queue behind an import.
    return Customer.objects.select_for_update(no_key=True).get(pk=customer_id)
