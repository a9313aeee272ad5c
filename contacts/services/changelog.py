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
# Who, in the log, for a write from a management command (stored text, as the other actors' names).
COMMAND_LINE = "command line"
# The columns that differ from entry to entry; the others are the write's (db_bulk's `constants`).
ENTRY_COLUMNS = ["seq", "contact_id", "external_id", "customer_id", "action", "before", "after"]


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
    def command_line(cls, user: AbstractBaseUser | None = None, channel: str = Channel.COMMAND) -> Actor:
        """A management command: "command line", or "support (command line)" for its --by user."""
        name = f"{user.get_username()} ({COMMAND_LINE})" if user is not None else COMMAND_LINE
        return cls(channel=channel, user=user, name=name)

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
    return db_bulk.reserve_numbers(ChangeSequence, key=organization_id, count=count)


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
    entries from their rows (db_bulk.insert_snapshots). Call it as the last write of the transaction: it
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
    # The "created" entries are built by the database from the rows it just stored (db_bulk's reason).
    db_bulk.insert_snapshots(
        ContactChange,
        Contact,
        sorted(created_ids),
        first=first + len(rows),
        fields=LOGGED_FIELDS,
        constants={"action": Action.CREATED, **constants},
    )
    return count


def created(contact: Contact) -> Entry:
    return Entry(
        contact.pk, contact.external_id, contact.customer_id, Action.CREATED, None, values_of(contact)
    )


def deleted(contact: Contact, action: str = Action.DELETED) -> Entry:
    return Entry(contact.pk, contact.external_id, contact.customer_id, action, values_of(contact), None)


def updated(contact: Contact, before: dict, after: dict, action: str = Action.UPDATED) -> Entry:
    return Entry(contact.pk, contact.external_id, contact.customer_id, action, before, after)
