"""What the change log's per-organization counter costs writers, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/contacts .venv/bin/python bench/changes_bench.py

The changes feed pages by change numbers that contacts.services.changelog hands out under a counter row
each writer of an organization locks until its commit. This measures single-contact updates from
THREADS threads (each on its own customer, the case where nothing else makes them wait for each other)
and bulk writes of 1,000 contacts, with the counter and with numbers from a plain PostgreSQL sequence
(no lock, what the xmin/snapshot alternative would cost writers). It runs in its own database
(`contacts_changes_bench`, created and dropped here), never yours.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREADS = 8


def setup() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server: the counter's cost is PostgreSQL's.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contacts_site.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
    os.environ["DJANGO_ENV_FILE"] = ""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    connection.settings_dict["TEST"]["NAME"] = "contacts_changes_bench"


def unlocked_allocate(organization_id: int, count: int) -> int:
    """Numbers from a sequence: unique, but in allocation order, not commit order (no lock)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('changes_bench_seq') FROM generate_series(1, %s)", [count])
        return cursor.fetchall()[0][0]


def single_writes(org, customers, per_thread: int) -> float:
    from django.db import connection

    from contacts.models import Contact
    from contacts.services.changelog import Actor
    from contacts.services.contacts import contact_update

    actor = Actor(channel="api", name="bench")
    contacts = {c.pk: Contact.objects.get(customer=c, external_id=f"S-{c.pk}") for c in customers}

    def run(customer):
        contact = contacts[customer.pk]
        for n in range(per_thread):
            contact_update(contact=contact, actor=actor, last_name=f"N{n}-{time.monotonic_ns()}")
        connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in customers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def bulk_write(org, customers, label: str) -> float:
    from contacts.services.bulk import contacts_bulk_upsert
    from contacts.services.changelog import Actor
    from contacts.services.rows import RowInput

    rows = [
        RowInput(
            row=i,
            values={
                "customer_external_id": customers[i % len(customers)].external_id,
                "external_id": f"B-{i}",
                "email": f"b{i}@bench.example",
                "last_name": label,
            },
        )
        for i in range(1000)
    ]
    started = time.perf_counter()
    contacts_bulk_upsert(organization=org, rows=rows, actor=Actor(channel="api", name="bench"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=100, help="single updates per thread (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each variant (default 3)")
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.utils import timezone

    from contacts.models import Contact
    from contacts.services import changelog
    from customers.models import Customer, Organization

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE SEQUENCE changes_bench_seq START 1000000000")
        org = Organization.objects.create(
            name="Bench", slug="bench", contacts_source="managed", contacts_disconnected_at=timezone.now()
        )
        customers = [
            Customer.objects.create(organization=org, name=f"Customer {i}", external_id=f"C-{i}")
            for i in range(THREADS)
        ]
        for customer in customers:
            Contact.objects.create(
                organization=org,
                customer=customer,
                external_id=f"S-{customer.pk}",
                email=f"{customer.pk}@b.example",
            )
        locked_allocate = changelog.allocate
        results: dict[str, list[float]] = {}
        for round_ in range(args.rounds):
            for name, allocate in (("counter", locked_allocate), ("no lock", unlocked_allocate)):
                changelog.allocate = allocate
                results.setdefault(f"single, {name}", []).append(single_writes(org, customers, args.writes))
                label = f"Round {round_}, {name}"  # every round updates the 1,000 contacts
                results.setdefault(f"bulk 1,000, {name}", []).append(bulk_write(org, customers, label))
        changelog.allocate = locked_allocate
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    writes = THREADS * args.writes
    print(
        f"{THREADS} threads x {args.writes} single updates ({writes:,}), and bulk writes of 1,000 contacts:"
    )
    for name, seconds in results.items():
        best, median = min(seconds), statistics.median(seconds)
        rate = f"{writes / best:,.0f} writes/s" if name.startswith("single") else ""
        print(f"  {name:<22} best {best:6.2f} s  median {median:6.2f} s  {rate}")


if __name__ == "__main__":
    main()
