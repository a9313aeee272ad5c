"""Undo a committed import: delete the contacts it created, put back the values it replaced.

`plan_undo` says what an undo would do (the admin's preview, `undo_import --dry-run`); `import_undo`
does it in one transaction under the organization's lock (contacts.locks: the organization, then the
customers by ascending id), so that an import, a bulk call or a single write of the organization waits
for it or is waited for: never half of each.

What an import did is read from the change log: its entries (channel "import", with its batch) hold
each contact's values before and after. "After the import" is read from the log's ids: within an
organization, entries are inserted under its change counter (contacts.services.changelog), so their
ids follow their commits; the import history's rows migrated from before the log come first.

- A contact changed after the import through another channel is a **conflict**: the whole contact is
  left as it is, unless `include_conflicts`. A contact deleted since stays deleted either way.
- A later import that touched the same contacts and is not undone refuses the undo (undo it first).
  Changes made by a later import that was undone, and by its undo, are not conflicts.
- Main contacts come back as they were, one per customer: restoring a main contact demotes the
  customer's current main. When that current main became main after the import through another
  channel, restoring is a conflict of the restored contact too.
- A customer that had a main contact before the import, and keeps contacts, is never left without
  one: when its previous main does not come back (changed or deleted since), the contact that is main
  now (created or made main by the import) is left as it is, a conflict that forcing does not undo.
- An undone import gives the month's import back: the monthly limit counts committed imports, and an
  undone one has status "undone". A client who sent the wrong file can send the right one the same month.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from contacts import db_bulk
from contacts.locks import lock_customers, lock_import_batch, lock_organization
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.services import changelog
from contacts.services.changelog import LOGGED_FIELDS, Action, Actor, Channel
from contacts.services.contacts import ensure_contacts_managed, integrity_error_message
from customers.models import Organization

NO_SUCH_IMPORT = _("There is no import #%(batch)s.")
IMPORT_OF_ANOTHER_ORGANIZATION = _(
    "Import #%(batch)s belongs to another organization than %(organization)s; nothing was undone."
)
FAILED_IMPORT = _("Import #%(batch)s failed and wrote nothing, so there is nothing to undo.")
ALREADY_UNDONE = _("Import #%(batch)s was already undone on %(when)s by %(who)s.")
LATER_IMPORT = _(
    "Import #%(later)s (%(file)s, %(when)s) changed some of the same contacts after this one; undo it first."
)
NOT_COMMITTED = _(
    "Import #%(batch)s is not committed (its status is “%(status)s”): only a committed import can be "
    "undone. Wait until it is committed, then undo it."
)
DATABASE_REFUSED = _("The undo was refused and nothing was changed: %(reason)s")
NOBODY = _("the command line")


class UndoRefused(ValidationError):
    """The undo cannot run (wrong organization, failed or undone import, a later import): nothing done."""


@dataclass
class Target:
    """A contact the import created or changed, as it is now and as the import found it."""

    contact_id: int
    external_id: str
    customer_id: int | None
    action: str  # the import's: created, updated or demoted
    before: dict | None  # the values the import replaced (None: it created the contact)
    current: dict | None  # the contact's logged fields now (None: deleted since)
    later: list[ContactChange] = field(default_factory=list)  # changes by other channels since
    # Restoring it as main would demote these contacts, made main since the import by someone else.
    displaced: list[dict] = field(default_factory=list)
    # Left as it is even when forced: undoing it would leave its customer, which had a main contact
    # before the import (`previous_main`, the identifier codes), without one.
    keeps_main: bool = False
    previous_main: str = ""

    def logged(self) -> dict:
        """Its logged fields now, as a deletion records them."""
        return {name: self.current[name] for name in LOGGED_FIELDS}


@dataclass
class UndoPlan:
    batch: ImportBatch
    include_conflicts: bool
    delete: list[Target] = field(default_factory=list)
    restore: list[Target] = field(default_factory=list)
    conflicts: list[Target] = field(default_factory=list)  # left alone, or forced with include_conflicts
    demote: list[dict] = field(default_factory=list)  # current mains displaced by a restored main

    @property
    def forced(self) -> list[Target]:
        """The conflicts undone anyway: all of them with `include_conflicts`, but those keeping a main."""
        if not self.include_conflicts:
            return []
        return [t for t in self.conflicts if not t.keeps_main]

    @property
    def totals(self) -> dict[str, int]:
        return {
            "deleted": len(self.delete),
            "restored": len(self.restore),
            "conflicts": len(self.conflicts),
            "left": len(self.conflicts) - len(self.forced),
            "demoted": len(self.demote),
        }


def _refuse(message, code: str, **values) -> UndoRefused:
    return UndoRefused(message % values, code=code, params=values)


def _checked_batch(organization: Organization, batch_id: int) -> ImportBatch:
    batch = ImportBatch.objects.select_related("undone_by", "organization").filter(pk=batch_id).first()
    if batch is None:
        raise _refuse(NO_SUCH_IMPORT, "not_found", batch=batch_id)
    if batch.organization_id != organization.pk:
        raise _refuse(
            IMPORT_OF_ANOTHER_ORGANIZATION,
            "wrong_organization",
            batch=batch_id,
            organization=organization.name,
        )
    if batch.status == ImportBatch.Status.FAILED:
        raise _refuse(FAILED_IMPORT, "failed", batch=batch_id)
    if batch.status == ImportBatch.Status.UNDONE:
        who = batch.undone_by.get_username() if batch.undone_by else str(NOBODY)
        when = date_format(timezone.localtime(batch.undone_at), "SHORT_DATETIME_FORMAT")
        raise _refuse(ALREADY_UNDONE, "already_undone", batch=batch_id, when=when, who=who)
    if batch.status != ImportBatch.Status.COMMITTED:
        status = batch.get_status_display()
        raise _refuse(NOT_COMMITTED, "not_committed", batch=batch_id, status=status)
    return batch


def plan_undo(*, organization: Organization, batch_id: int, include_conflicts: bool = False) -> UndoPlan:
    """What undoing the import would do; writes nothing, locks nothing. Raises UndoRefused."""
    ensure_contacts_managed(organization)
    batch = _checked_batch(organization, batch_id)
    return _plan(batch, include_conflicts)


def _plan(batch: ImportBatch, include_conflicts: bool) -> UndoPlan:
    entries = list(
        ContactChange.objects.filter(batch=batch, channel=Channel.IMPORT, contact_id__isnull=False)
        .order_by("pk")
        .values_list("pk", "contact_id", "external_id", "customer_id", "action", "before")
    )
    targets: dict[int, Target] = {}
    for _pk, contact_id, code, customer_id, action, before in entries:
        targets.setdefault(contact_id, Target(contact_id, code, customer_id, action, before, None))
    current = _current_values(batch.organization_id, set(targets))
    for target in targets.values():
        target.current = current.get(target.contact_id)
    last_pk = entries[-1][0] if entries else 0
    _attach_later_changes(batch, targets, last_pk)
    plan = UndoPlan(batch=batch, include_conflicts=include_conflicts)
    for target in targets.values():
        if target.current is None or target.later:
            plan.conflicts.append(target)
        elif target.action == Action.CREATED:
            plan.delete.append(target)
        else:
            plan.restore.append(target)
    _settle_main_contacts(plan)
    _keep_main_contacts(plan, targets.values())
    return plan


def _current_values(organization_id: int, ids: set[int]) -> dict[int, dict]:
    """The contacts' logged fields now, by id (one query per slice of ids)."""
    columns = ("id", "customer_id", *LOGGED_FIELDS)
    ordered = sorted(ids)
    values: dict[int, dict] = {}
    for chunk in db_bulk.in_slices(ordered):
        for row in Contact.objects.filter(organization_id=organization_id, pk__in=chunk).values(*columns):
            values[row["id"]] = row
    return values


def _attach_later_changes(batch: ImportBatch, targets: dict[int, Target], last_pk: int) -> None:
    """The changes made to the targets after the import, but those of later imports that were undone
    (and of their undo); refuses when a later import still stands. Read by the targets' ids (the
    entries' contact index), after the import's last entry: never the organization's whole log."""
    ids = sorted(targets)
    later: list[ContactChange] = []
    for chunk in db_bulk.in_slices(ids):
        later.extend(
            ContactChange.objects.filter(
                organization_id=batch.organization_id,
                contact_id__in=chunk,
                pk__gt=last_pk,
            )
            .exclude(batch__status=ImportBatch.Status.UNDONE)
            .select_related("batch")
        )
    later.sort(key=lambda change: change.pk)
    for change in later:
        if change.channel == Channel.IMPORT and change.batch is not None:
            later_batch = change.batch
            when = date_format(timezone.localtime(later_batch.created_at), "SHORT_DATETIME_FORMAT")
            raise _refuse(
                LATER_IMPORT, "later_import", later=later_batch.pk, file=later_batch.file_name, when=when
            )
        targets[change.contact_id].later.append(change)


def _settle_main_contacts(plan: UndoPlan) -> None:
    """A restored main demotes the customer's current main; if someone else made that one main after
    the import, the restore is a conflict (unless forced)."""
    undone = {t.contact_id for t in (*plan.delete, *plan.restore)}
    if plan.include_conflicts:
        undone.update(t.contact_id for t in plan.conflicts if t.current is not None)
    promoting = [
        t
        for t in (*plan.restore, *(plan.conflicts if plan.include_conflicts else ()))
        if t.current is not None and (t.before or {}).get("is_main") is True and not t.current["is_main"]
    ]
    if not promoting:
        return
    mains = _current_mains({t.customer_id for t in promoting})
    for target in promoting:
        displaced = [m for m in mains.get(target.current["customer_id"], []) if m["id"] not in undone]
        if not displaced:
            continue
        target.displaced = displaced
        if plan.include_conflicts:
            plan.demote.extend(d for d in displaced if d not in plan.demote)
        else:
            plan.restore.remove(target)
            plan.conflicts.append(target)


def _keep_main_contacts(plan: UndoPlan, targets: Iterable[Target]) -> None:
    """A customer that had a main contact before the import and keeps contacts keeps a main: the
    target that would unset its current main, when its previous main does not come back (changed or
    deleted since), is left as it is, as a conflict that forcing does not undo."""
    previous: dict[int, list[str]] = defaultdict(list)
    for target in targets:
        if (target.before or {}).get("is_main") is True:
            previous[target.customer_id].append(target.external_id)
    acting = [t for t in (*plan.delete, *plan.restore, *plan.forced) if t.current is not None]
    gaining = {
        t.customer_id for t in acting if t.before and t.before.get("is_main") and not t.current["is_main"]
    }
    losing = {
        t.customer_id: t
        for t in acting
        if t.current["is_main"]
        and (t.action == Action.CREATED or t.before.get("is_main") is False)
        and t.customer_id in previous
        and t.customer_id not in gaining
    }
    deleted = Counter(t.customer_id for t in acting if t.action == Action.CREATED)
    remaining = _contact_counts(set(losing))
    for customer_id, target in losing.items():
        if remaining.get(customer_id, 0) <= deleted[customer_id]:
            continue  # no contact left: no main to keep
        target.keeps_main, target.previous_main = True, ", ".join(previous[customer_id])
        for section in (plan.delete, plan.restore):
            if target in section:
                section.remove(target)
                plan.conflicts.append(target)


def _contact_counts(customer_ids: set[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    ordered = sorted(customer_ids)
    for chunk in db_bulk.in_slices(ordered):
        rows = (
            Contact.objects.filter(customer_id__in=chunk)
            .values("customer_id")
            .annotate(count=Count("pk"))
            .values_list("customer_id", "count")
        )
        counts.update(rows)
    return counts


def _current_mains(customer_ids: set[int]) -> dict[int, list[dict]]:
    mains: dict[int, list[dict]] = defaultdict(list)
    ordered = sorted(i for i in customer_ids if i is not None)
    for chunk in db_bulk.in_slices(ordered):
        rows = Contact.objects.filter(customer_id__in=chunk, is_main=True)
        for row in rows.values("id", "external_id", "customer_id", "source"):
            mains[row["customer_id"]].append(row)
    return mains


def import_undo(
    *, organization: Organization, batch_id: int, actor: Actor, include_conflicts: bool = False
) -> UndoPlan:
    """Undo the import, all or nothing; returns what was done. Raises UndoRefused, or a
    ValidationError when the organization's contacts are synced or the database refuses a restore."""
    try:
        with transaction.atomic():
            locked = lock_organization(organization.pk)
            ensure_contacts_managed(locked)
            # A second undo of the batch (a double click) waits here, then finds it undone.
            lock_import_batch(organization_id=locked.pk, batch_id=batch_id)
            batch = _checked_batch(locked, batch_id)
            customer_ids = ContactChange.objects.filter(batch=batch, customer_id__isnull=False).values_list(
                "customer_id", flat=True
            )
            lock_customers(organization_id=locked.pk, customer_ids=set(customer_ids))
            plan = _plan(batch, include_conflicts)
            _apply(plan, actor)
    except IntegrityError as error:
        reason = integrity_error_message(error)
        raise ValidationError(DATABASE_REFUSED % {"reason": reason}, code="conflict") from error
    return plan


def _apply(plan: UndoPlan, actor: Actor) -> None:
    now = timezone.now()
    forced = plan.forced
    delete = [t for t in (*plan.delete, *forced) if t.current is not None and t.action == Action.CREATED]
    restore = [t for t in (*plan.restore, *forced) if t.current is not None and t.action != Action.CREATED]
    entries: list[changelog.Entry] = []
    # Unset mains first: the partial unique index refuses two mains of a customer even for an instant.
    unset = [d["id"] for d in plan.demote]
    unset += [t.contact_id for t in restore if t.current["is_main"] and t.before.get("is_main") is False]
    unset += [t.contact_id for t in delete if t.current["is_main"]]
    for chunk in db_bulk.in_slices(unset):
        Contact.objects.filter(pk__in=chunk).update(is_main=False, updated_at=now)
    entries.extend(
        changelog.Entry(
            d["id"], d["external_id"], d["customer_id"], Action.DEMOTED, {"is_main": True}, {"is_main": False}
        )
        for d in plan.demote
    )
    for chunk in db_bulk.in_slices(delete):
        Contact.objects.filter(pk__in=[t.contact_id for t in chunk]).delete()
    entries.extend(
        changelog.Entry(t.contact_id, t.external_id, t.customer_id, Action.DELETED, t.logged(), None)
        for t in delete
    )
    entries.extend(_restore(restore, now))
    batch = plan.batch
    batch.status = ImportBatch.Status.UNDONE
    batch.undone_at, batch.undone_by = now, actor.user
    batch.undone_deleted, batch.undone_restored = len(delete), len(restore)
    batch.undone_left = plan.totals["left"]
    batch.save(
        update_fields=["status", "undone_at", "undone_by", "undone_deleted", "undone_restored", "undone_left"]
    )
    changelog.record(entries, organization_id=batch.organization_id, actor=actor, batch=batch, at=now)


def _restore(targets: list[Target], now) -> list[changelog.Entry]:
    """Put back the values each contact had before the import, grouped by the fields to write (the
    caller unset the mains that lose it first)."""
    groups: dict[tuple[str, ...], list[tuple[int, dict]]] = defaultdict(list)
    entries = []
    for target in targets:
        back = {name: value for name, value in target.before.items() if name in LOGGED_FIELDS}
        before, after = changelog.difference(target.current, back)
        if not after:
            continue
        groups[tuple(sorted(after))].append((target.contact_id, after))
        entries.append(
            changelog.Entry(
                target.contact_id, target.external_id, target.customer_id, Action.UPDATED, before, after
            )
        )
    for names, group in groups.items():
        db_bulk.update_rows(
            Contact,
            [*names, "updated_at"],
            [(*(after[name] for name in names), now, pk) for pk, after in group],
            batch_size=db_bulk.IDS_PER_STATEMENT,
        )
    return entries
