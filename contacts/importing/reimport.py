"""A file imported again: the committed import it repeats, and the changes made since that it would undo.

`earlier_import` finds the organization's latest committed import of the same bytes (sha256), and the
preview warns at its top with a link to it. `changes_set_back` flags each row that would overwrite a
value changed after that import by another channel (by hand in the admin, through the API, an undo):
"changed by support on 2 Dec at 10:14; this file would set it back", read from the change log.
"""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from contacts.fields import CONTACT_FIELDS
from contacts.importing.limits import day_month
from contacts.models import ContactChange, ImportBatch
from contacts.selectors import last_committed_import_of_file
from contacts.services.rows import Plan, Problem
from customers.models import Organization

ALREADY_IMPORTED = _(
    "This file was already imported for {organization} on {date} by {user}; importing it again sets "
    "back every change made since to the values it holds."
)
BY_COMMAND_LINE = _("the command line")
# One warning per row and field set back (the warning's column names the field).
SETS_BACK_A_CHANGE = _("Changed by {user} on {date} at {time}; this file would set it back.")


def earlier_import(organization: Organization, sha256: str) -> ImportBatch | None:
    return last_committed_import_of_file(organization, sha256)


def already_imported(batch: ImportBatch) -> str:
    """The warning about a repeated file, naming when and by whom it was imported."""
    when = formats.date_format(timezone.localtime(batch.created_at), "DATETIME_FORMAT")
    user = batch.user.get_username() if batch.user else BY_COMMAND_LINE
    return str(ALREADY_IMPORTED.format(organization=batch.organization.name, date=when, user=user))


def changes_set_back(*, batch: ImportBatch, plan: Plan) -> list[Problem]:
    """The rows of `plan` that would overwrite a change made after `batch` by another channel.

    One query: the organization's changes since the import (few, next to a file's rows), kept for the
    contacts the plan updates; a field is flagged when the row changes it and its stored value is still
    the one that later change wrote.
    """
    updated = {o.contact_id: o for o in plan.outcomes if o.status == "updated" and o.previous}
    if not updated:
        return []
    since = batch.finished_at or batch.created_at
    later = (
        ContactChange.objects.filter(organization_id=batch.organization_id, at__gt=since)
        .exclude(channel=ContactChange.Channel.IMPORT)
        .filter(action__in=[ContactChange.Action.UPDATED, ContactChange.Action.DEMOTED])
        .order_by("at", "pk")
        .values_list("contact_id", "after", "actor", "channel", "at")
    )
    latest: dict[tuple[int, str], tuple] = {}  # (contact, field) -> (who, when) of its last change
    for contact_id, after, actor, channel, at in later.iterator(chunk_size=2000):
        if contact_id in updated:
            for name, value in (after or {}).items():
                latest[(contact_id, name)] = (value, actor or ContactChange.Channel(channel).label, at)
    problems = []
    for contact_id, outcome in updated.items():
        for name, stored in outcome.previous.items():
            change = latest.get((contact_id, name))
            if name in CONTACT_FIELDS and change is not None and change[0] == stored:
                local = timezone.localtime(change[2])
                date, time = day_month(change[2]), formats.time_format(local, "H:i")
                message = SETS_BACK_A_CHANGE.format(user=change[1], date=date, time=time)
                problems.append(Problem(outcome.row, name, message))
    return problems
