"""Writes of many contacts at once: the spreadsheet import and the API's bulk endpoint call this.

`contacts_bulk_upsert` owns the transaction, the managed-organization guard, the locks and the
plan/apply, each taken once: lock the organization, check it is managed, resolve and lock the customers
the rows name (ascending ids), read their contacts under those locks, plan, write. A plan made from
rows read under the same locks that single-contact writers take can never write back a stale value;
an update writes only the fields its row changes.

What a caller adds to the write (the import's monthly limit and its batch record) comes in through
`BulkHooks`, called inside the same transaction. The change log's entries (one per contact written,
demoted contacts included) are written last, in bulk, with the caller's `actor` and the import batch
the hooks return, if any.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts import db_bulk
from contacts.fields import CONTACT_FIELDS
from contacts.locks import lock_customers, lock_organization
from contacts.models import Contact, ImportBatch
from contacts.services import changelog
from contacts.services.changelog import Action, Actor
from contacts.services.contacts import ensure_contacts_managed, integrity_validation_error
from contacts.services.planning import plan_rows, read_customers, row_texts
from contacts.services.rows import Plan, RowInput, RowOutcome, RowPolicy
from customers.models import Organization

INVALID_ROWS = _(
    "{count} row(s) are invalid, so nothing was written; fix them, or skip the invalid rows to import "
    "the others."
)
BATCH_SIZE = 1000


class InvalidRows(ValidationError):
    """Some rows are invalid and the caller did not ask to skip them: nothing was written."""

    def __init__(self, plan: Plan):
        invalid = plan.totals["invalid"]
        super().__init__(INVALID_ROWS.format(count=invalid), code="invalid_rows")
        self.plan = plan


class Written(NamedTuple):
    """A contact the write changed: created, updated or demoted, with the changed values (`before` is
    None when it created the contact). In changelog.Entry's order: the log records them as they are."""

    pk: int
    external_id: str
    customer_id: int
    action: str
    before: dict | None
    after: dict


@dataclass
class BulkResult:
    plan: Plan
    written: list[Written]


class BulkHooks:
    """What a caller adds to a bulk write, inside its transaction and under its locks; raising refuses."""

    def locked(self, organization: Organization) -> None:
        """The organization is locked and managed here; nothing is planned yet."""

    def planned(self, plan: Plan) -> None:
        """The plan is made (and valid, or invalid rows are skipped); nothing is written yet."""

    def written(self, plan: Plan, written: list[Written]) -> ImportBatch | None:
        """The contacts are written; the transaction is still open. Returns the import batch that the
        change log's entries belong to, if any."""
        return None


def contacts_bulk_upsert(
    *,
    organization: Organization,
    rows: list[RowInput],
    actor: Actor,
    row_label: str = "row",
    skip_invalid: bool = False,
    hooks: BulkHooks | None = None,
    policy: RowPolicy | None = None,
) -> BulkResult:
    """Create or update the contacts the rows describe, all or nothing.

    `policy` says how rows read (a blank value clears or keeps; exact copies are errors or skipped); the
    default is the bulk API's documented one, the import passes its own.

    Raises ValidationError while the organization's contacts are synced, InvalidRows when a row is
    invalid (unless `skip_invalid`), whatever the hooks raise, and a ValidationError ("unique" or
    "conflict") when the database refuses a write.
    """
    hooks = hooks or BulkHooks()
    try:
        with transaction.atomic():
            locked = lock_organization(organization.pk)
            ensure_contacts_managed(locked)
            hooks.locked(locked)
            texts = row_texts(rows)
            customers = read_customers(locked, texts)
            lock_customers(organization_id=locked.pk, customer_ids=(pk for pk, _name in customers.values()))
            plan = plan_rows(
                organization=locked,
                rows=rows,
                row_label=row_label,
                texts=texts,
                customers=customers,
                policy=policy,
            )
            if plan.totals["invalid"] and not skip_invalid:
                raise InvalidRows(plan)
            hooks.planned(plan)
            now = timezone.now()
            written = apply_plan(plan, actor=actor, now=now)
            batch = hooks.written(plan, written)
            # Last: it takes the organization's change counter until the commit. The database builds
            # the creations' entries from the rows it stored.
            changelog.record(
                [w for w in written if w.action != Action.CREATED],
                created_ids=[w.pk for w in written if w.action == Action.CREATED],
                organization_id=locked.pk,
                actor=actor,
                batch=batch,
                at=now,
                batch_size=BATCH_SIZE,
            )
    except IntegrityError as error:
        raise integrity_validation_error(error) from error
    return BulkResult(plan=plan, written=written)


def apply_plan(plan: Plan, *, actor: Actor, now) -> list[Written]:
    """Write the plan's new and updated rows (the caller holds the locks and the transaction).

    Demoted main contacts that no row updates are returned too (action "demoted"). The entries reuse
    the plan's dicts (an outcome's `values` and `previous` gain "source") rather than copy 100,000 of them.
    """
    source = actor.source
    new = [o for o in plan.outcomes if o.status == "new"]
    updated = [o for o in plan.outcomes if o.status == "updated"]
    _demote_mains(plan, new, updated, source, now)
    _update(updated, source, now)
    written = [_updated(o, source) for o in updated]
    ids = _insert(plan.organization, new, source, now)
    for outcome, pk in zip(new, ids, strict=True):
        outcome.values["source"] = source
        written.append(
            Written(
                pk, outcome.values["external_id"], outcome.customer_id, Action.CREATED, None, outcome.values
            )
        )
    demoted_to = {"is_main": False, "source": source}
    written.extend(
        Written(
            d["id"],
            d["external_id"],
            d["customer_id"],
            Action.DEMOTED,
            *changelog.difference({"is_main": True, "source": d["source"]}, demoted_to),
        )
        for d in plan.demotions
    )
    return written


def _updated(outcome: RowOutcome, source: str) -> Written:
    before = outcome.previous
    after = {name: outcome.values[name] for name in before}
    if outcome.stored_source != source:
        before["source"], after["source"] = outcome.stored_source, source
    return Written(
        outcome.contact_id, outcome.values["external_id"], outcome.customer_id, Action.UPDATED, before, after
    )


def _demote_mains(plan: Plan, new: list[RowOutcome], updated: list[RowOutcome], source: str, now) -> None:
    """Unset the main contact of the customers that gain one (first: the partial unique index refuses
    two mains even for an instant)."""
    gaining_main = {d["customer_id"] for d in plan.demotions}
    gaining_main.update(o.customer_id for o in new if o.values["is_main"])
    gaining_main.update(o.customer_id for o in updated if o.previous.get("is_main") is False)
    customer_ids = sorted(gaining_main)
    for start in range(0, len(customer_ids), BATCH_SIZE):
        Contact.objects.filter(customer_id__in=customer_ids[start : start + BATCH_SIZE], is_main=True).update(
            is_main=False, source=source, updated_at=now
        )


def _update(updated: list[RowOutcome], source: str, now) -> None:
    """Each row writes only the fields it changes: rows are grouped by the set of fields they change."""
    groups: dict[tuple[str, ...], list[RowOutcome]] = defaultdict(list)
    for outcome in updated:
        groups[tuple(name for name in CONTACT_FIELDS if name in outcome.previous)].append(outcome)
    for changed, outcomes in groups.items():
        db_bulk.update_rows(
            Contact,
            [*changed, "source", "updated_at"],
            [(*(o.values[name] for name in changed), source, now, o.contact_id) for o in outcomes],
            batch_size=BATCH_SIZE,
        )


def _insert(organization: Organization, new: list[RowOutcome], source: str, now) -> list[int]:
    columns = ["organization_id", "customer_id", *CONTACT_FIELDS, "source", "created_at", "updated_at"]
    rows = [
        (organization.pk, o.customer_id, *(o.values[name] for name in CONTACT_FIELDS), source, now, now)
        for o in new
    ]
    return db_bulk.insert_rows(Contact, columns, rows, batch_size=BATCH_SIZE)


def contacts_delete(*, contact_ids: Collection[int], actor: Actor) -> int:
    """Delete these contacts, all or nothing, and record one "deleted" entry each, in bulk (the admin's
    "Delete selected contacts"). Returns how many were deleted (those already gone are not counted).

    Per organization, in ascending id order: lock it, refuse it while synced, lock the contacts'
    customers, read the contacts again under those locks. The deletions come next, and the log's
    entries last: recording takes each organization's change counter, held until the commit, and no
    lock is taken after it.
    """
    ids = sorted(set(contact_ids))
    chunks = list(db_bulk.in_slices(ids))
    with transaction.atomic():
        organizations: dict[int, set[int]] = defaultdict(set)
        for chunk in chunks:
            for organization_id, customer_id in Contact.objects.filter(pk__in=chunk).values_list(
                "organization_id", "customer_id"
            ):
                organizations[organization_id].add(customer_id)
        entries: dict[int, list[changelog.Entry]] = defaultdict(list)
        for organization_id in sorted(organizations):
            ensure_contacts_managed(lock_organization(organization_id))
            lock_customers(organization_id=organization_id, customer_ids=organizations[organization_id])
        for chunk in chunks:
            contacts = Contact.objects.filter(organization_id__in=list(organizations), pk__in=chunk)
            for contact in contacts:
                entries[contact.organization_id].append(changelog.deleted(contact))
            contacts.delete()
        for organization_id in sorted(entries):
            changelog.record(entries[organization_id], organization_id=organization_id, actor=actor)
    return sum(len(logged) for logged in entries.values())
