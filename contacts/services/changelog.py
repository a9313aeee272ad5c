"""The change log's writer: every write service records its entries here, inside its own transaction.

Who writes is an `Actor` (the channel, and the staff user or the API key): the admin, the API, the
import and the command line each build theirs and pass it to the services.

Change numbers. Each entry gets the next number of its organization's counter (`ChangeSequence`),
taken by one upsert (INSERT … ON CONFLICT DO UPDATE) that row-locks the counter until the transaction
ends. A second writer of the same organization waits at that statement until the first commits, then
reads the committed value: numbers are handed out in commit order, without gaps, so at any instant the
committed entries of an organization are numbers 1…N and an entry committed later always gets a larger
number. The changes feed
(contacts.api.changes) pages by number and can therefore never skip an entry committed after its cursor,
whatever the commit order of concurrent writers. An autoincrement id or a timestamp gives no such
guarantee on PostgreSQL: a transaction that took id 10 may commit after one that took id 11, and a
client that already read 11 never sees 10.

The price is that the writers of one organization queue for the counter from their log write to their
commit. Every writer takes it last (after the organization, customer and contact locks of
contacts.locks, and after its other writes), so the wait is the tail of each transaction only, and no
lock is taken while holding it (no deadlock). bench/changes_bench.py measured it on PostgreSQL (2 cores,
8 threads of single-contact updates of one organization, each on its own customer): 121 writes/s with
the counter against 111 with numbers from a lock-free sequence, and bulk writes of 1,000 contacts in
0.12 s either way: no difference within the machine's noise, the writers being CPU-bound. The bound it
sets: one organization commits one write at a time, about one per commit's WAL flush (~1,000/s at 1 ms);
other organizations never wait for it. The alternative, PostgreSQL's transaction ids with a visibility
horizon (pg_current_xact_id, pg_snapshot_xmin), costs writers nothing but holds every organization's
feed back behind the oldest open transaction of the whole database (a 2-minute import delays all feeds
by 2 minutes) and does not exist on SQLite, where the suite and the demo run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from contacts import db_bulk
from contacts.fields import CONTACT_FIELDS
from contacts.models import ChangeSequence, Contact, ContactChange, ImportBatch

Channel = ContactChange.Channel
Action = ContactChange.Action
# What an entry records of a contact: the fields writes set, and the channel that last changed it.
LOGGED_FIELDS: tuple[str, ...] = (*CONTACT_FIELDS, "source")
# The contact's `source` after a write through each channel (an undo restores the previous one).
CHANNEL_SOURCES = {
    Channel.ADMIN: Contact.Source.MANUAL,
    Channel.IMPORT: Contact.Source.IMPORT,
    Channel.API: Contact.Source.API,
    Channel.INVOICING: Contact.Source.INVOICING,
    Channel.COMMAND: Contact.Source.MANUAL,
}
# The columns that differ from entry to entry; the others are the write's (db_bulk's `constants`).
ENTRY_COLUMNS = ["seq", "contact_id", "external_id", "customer_id", "action", "before", "after"]
IN_LIST_LIMIT = 900  # ids per statement on SQLite: within its 999 parameters


@dataclass(frozen=True)
class Actor:
    """Who writes and through what: the admin, the API, the import and the command line pass theirs."""

    channel: str
    user: AbstractBaseUser | None = None
    name: str = ""  # as the history shows it: the staff user's name, the API key's name

    @classmethod
    def staff(cls, user: AbstractBaseUser | None, channel: str = Channel.ADMIN) -> Actor:
        """A staff user (the admin), or the command line's --by user (None: nobody named)."""
        return cls(channel=channel, user=user, name=user.get_username() if user is not None else "")

    @classmethod
    def api_key(cls, api_key) -> Actor:
        """An API key (OrganizationAPIKey): its name and public prefix, never the key itself."""
        return cls(channel=Channel.API, name=f"{api_key.name} ({api_key.prefix})")

    @property
    def source(self) -> str:
        """The `source` a contact this actor writes ends up with."""
        return CHANNEL_SOURCES[self.channel]


class Entry(NamedTuple):
    """One entry to record: what happened to one contact."""

    contact_id: int
    external_id: str
    customer_id: int | None
    action: str
    before: dict | None
    after: dict | None


def values_of(contact: Contact) -> dict:
    """Every logged field of a contact, as a creation or a deletion records them."""
    return {name: getattr(contact, name) for name in LOGGED_FIELDS}


def difference(before: dict, after: dict) -> tuple[dict, dict]:
    """The fields whose value differs, before and after."""
    changed = [name for name in after if before.get(name) != after[name]]
    return {name: before.get(name) for name in changed}, {name: after[name] for name in changed}


def allocate(organization_id: int, count: int) -> int:
    """Reserve `count` change numbers of the organization; returns the first. Locks the counter until
    the transaction ends: take it last, after every other lock and write."""
    table = connection.ops.quote_name(ChangeSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, last) VALUES (%s, %s) "
            f"ON CONFLICT (organization_id) DO UPDATE SET last = {table}.last + excluded.last "
            "RETURNING last",
            [organization_id, count],
        )
        last = cursor.fetchone()[0]
    return last - count + 1


def record(
    entries: Sequence[tuple],
    *,
    organization_id: int,
    actor: Actor,
    batch: ImportBatch | None = None,
    at=None,
    created_ids: Sequence[int] = (),
    batch_size: int = 1000,
) -> int:
    """Write the entries (`Entry` or tuples in its order) in bulk: a fixed number of queries per
    `batch_size` entries. Returns how many.

    `created_ids` are contacts this write created and stored: the database builds their "created"
    entries from their rows (see `_insert_created`). Call it as the last write of the transaction: it
    takes the organization's change counter.
    """
    count = len(entries) + len(created_ids)
    if not count:
        return 0
    first = allocate(organization_id, count)
    constants = {
        "organization_id": organization_id,
        "channel": actor.channel,
        "user_id": actor.user.pk if actor.user is not None else None,
        "actor": actor.name,
        "batch_id": batch.pk if batch is not None else None,
        "at": at or timezone.now(),
    }
    rows = [
        (first + index, pk, code, customer_id, action, before, after)
        for index, (pk, code, customer_id, action, before, after) in enumerate(entries)
    ]
    db_bulk.insert_rows(
        ContactChange, ENTRY_COLUMNS, rows, batch_size=batch_size, returning=False, constants=constants
    )
    _insert_created(sorted(created_ids), first + len(rows), constants)
    return count


# The "created" entries of a bulk write, built by the database from the contacts it just stored: json_object
# (SQLite) and jsonb_build_object (PostgreSQL) instead of a json.dumps and bound parameters per entry. An
# import creating 20,000 contacts on SQLite: the log's write took 0.21 s of CPU, now 0.11 s; the commit is
# back within a few per cent of its time without the log. Held to changelog.created by a property test.
def _insert_created(ids: list[int], first: int, constants: dict) -> None:
    if not ids:
        return
    quote = connection.ops.quote_name
    postgresql = connection.vendor == "postgresql"
    values = []
    for name in LOGGED_FIELDS:
        column = quote(name)
        if name == "is_main" and not postgresql:
            column = f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"  # SQLite stores 0 or 1
        values += [f"'{name}'", column]
    builder = "jsonb_build_object" if postgresql else "json_object"
    names = ["seq", "contact_id", "external_id", "customer_id", "action", "after", *constants]
    fixed = _prepared_constants({"action": Action.CREATED, **constants}, postgresql)
    head = (
        f"INSERT INTO {quote(ContactChange._meta.db_table)} ({', '.join(quote(n) for n in names)}) "
        f"SELECT %s + ROW_NUMBER() OVER (ORDER BY {quote('id')}) - 1, {quote('id')}, "
        f"{quote('external_id')}, {quote('customer_id')}, {', '.join(fixed['sql'][:1])}, "
        f"{builder}({', '.join(values)}), {', '.join(fixed['sql'][1:])} "
        f"FROM {quote(Contact._meta.db_table)} WHERE "
    )
    chunk = len(ids) if postgresql else IN_LIST_LIMIT
    with connection.cursor() as cursor:
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            where = (
                f"{quote('id')} = ANY(%s)"
                if postgresql
                else f"{quote('id')} IN ({', '.join(['%s'] * len(part))})"
            )
            params = [first + start, *fixed["params"], *([part] if postgresql else part)]
            cursor.execute(head + where, params)


def _prepared_constants(values: dict, postgresql: bool) -> dict:
    """Each constant as a typed placeholder (PostgreSQL types an untyped one in a SELECT as text) and its
    database value."""
    sql, params = [], []
    for name, value in values.items():
        field = ContactChange._meta.get_field(name)
        sql.append(f"CAST(%s AS {field.db_type(connection)})" if postgresql else "%s")
        params.append(field.get_db_prep_save(value, connection) if value is not None else None)
    return {"sql": sql, "params": params}


def created(contact: Contact) -> Entry:
    return Entry(
        contact.pk, contact.external_id, contact.customer_id, Action.CREATED, None, values_of(contact)
    )


def deleted(contact: Contact, action: str = Action.DELETED) -> Entry:
    return Entry(contact.pk, contact.external_id, contact.customer_id, action, values_of(contact), None)


def updated(contact: Contact, before: dict, after: dict, action: str = Action.UPDATED) -> Entry:
    return Entry(contact.pk, contact.external_id, contact.customer_id, action, before, after)
