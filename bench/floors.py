"""The floors the import is held to, measured in the same run on the same database and rows.

- `orm`: Django's `bulk_create` of the file's contacts (values read with the csv module, nothing checked),
  in one transaction: what writing through the ORM costs.
- `copy` (PostgreSQL only): psycopg COPY of the same contacts and of one change row each into tables
  with the same columns, indexes and foreign keys as the application's, commit included: what writing
  the rows costs at all. The import's writing cost (commit - preview) is compared with it.

Each returns the callable to time; what it needs (rows in memory, the empty tables) is made before.
"""

import csv
import io
from pathlib import Path

from psycopg.types.json import Jsonb


def _file_rows(path: str) -> list[list[str]]:
    text = Path(path).read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[1:]


def orm_floor(organization, path: str):
    from django.db import transaction

    from contacts.models import Contact
    from customers.models import Customer

    customers = dict(Customer.objects.filter(organization=organization).values_list("external_id", "id"))
    rows = _file_rows(path)

    def write() -> dict:
        contacts = [
            Contact(
                organization_id=organization.pk,
                customer_id=customers[row[1]],
                external_id=row[2],
                email=row[3].lower(),
                first_name=row[4],
                last_name=row[5],
                phone=row[6],
                occupation=row[7].upper(),
                is_main=row[8] == "1",
                source="import",
            )
            for row in rows
        ]
        with transaction.atomic():
            Contact.objects.bulk_create(contacts, batch_size=1000)
        return {"written": len(contacts)}

    return write


def change_model():
    """The model the import writes one row of per contact it changes (the change log)."""
    from contacts.models import ContactChange

    return ContactChange


# The columns of a change log entry recording the creation of one contact, and their values: what the
# import writes for each contact it creates (its values, who, when, the batch, a change number).
CHANGE_COLUMNS = (
    "organization_id",
    "batch_id",
    "seq",
    "contact_id",
    "external_id",
    "customer_id",
    "action",
    "channel",
    "actor",
    "at",
    "after",
)


def change_values(organization_id: int, batch_id: int, seq: int, contact: tuple, contact_id: int, now):
    after = {
        "external_id": contact[2],
        "email": contact[3],
        "first_name": contact[4],
        "last_name": contact[5],
        "phone": contact[6],
        "occupation": contact[7],
        "is_main": contact[8],
        "source": contact[9],
    }
    return (
        organization_id,
        batch_id,
        seq,
        contact_id,
        contact[2],
        contact[1],
        "created",
        "import",
        "",
        now,
        Jsonb(after),
    )


def _twin_table(cursor, table: str, twin: str, references: dict[str, str]) -> None:
    """`twin`: `table`'s columns, defaults, indexes and constraints, and its foreign keys retargeted."""
    cursor.execute(f'DROP TABLE IF EXISTS "{twin}" CASCADE')
    cursor.execute(f'CREATE TABLE "{twin}" (LIKE "{table}" INCLUDING ALL)')
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'f'",
        [table],
    )
    for name, definition in cursor.fetchall():
        for original, replacement in references.items():
            definition = definition.replace(f"REFERENCES {original}(", f"REFERENCES {replacement}(")
        cursor.execute(f'ALTER TABLE "{twin}" ADD CONSTRAINT "{name}_floor" {definition}')


def copy_floor(organization, path: str):
    from django.db import connection
    from django.utils import timezone

    from contacts.models import Contact, ImportBatch
    from customers.models import Customer

    change = change_model()
    contacts_table, changes_table = Contact._meta.db_table, change._meta.db_table
    with connection.cursor() as cursor:
        _twin_table(cursor, contacts_table, "floor_contact", {})
        _twin_table(cursor, changes_table, "floor_change", {contacts_table: "floor_contact"})
    customers = dict(Customer.objects.filter(organization=organization).values_list("external_id", "id"))
    batch = ImportBatch.objects.create(organization=organization, file_name="floor", status="committed")
    now = timezone.now()
    contacts = [
        (
            organization.pk,
            customers[row[1]],
            row[2],
            row[3].lower(),
            row[4],
            row[5],
            "+33600000000",
            row[7].upper(),
            row[8] == "1",
            "import",
            now,
            now,
        )
        for row in _file_rows(path)
    ]
    columns = (
        "organization_id, customer_id, external_id, email, first_name, last_name, phone, occupation, "
        "is_main, source, created_at, updated_at"
    )
    raw = connection.connection  # psycopg's own connection, outside Django's transaction handling

    def write() -> dict:
        with raw.transaction(), raw.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('floor_contact', 'id')) FROM generate_series(1, %s)",
                [len(contacts)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            with cursor.copy(f"COPY floor_contact (id, {columns}) FROM STDIN") as copy:
                for pk, row in zip(ids, contacts, strict=True):
                    copy.write_row((pk, *row))
            with cursor.copy(f"COPY floor_change ({', '.join(CHANGE_COLUMNS)}) FROM STDIN") as copy:
                for seq, (pk, row) in enumerate(zip(ids, contacts, strict=True), start=1):
                    copy.write_row(change_values(organization.pk, batch.pk, seq, row, pk, now))
        return {"written": len(contacts)}

    return write


def drop_floor_tables() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute('DROP TABLE IF EXISTS "floor_change", "floor_contact" CASCADE')
