"""A file imported again: the committed import it repeats, and the changes made since that it would undo.

The first half is here: `earlier_import` finds the organization's latest committed import of the same
bytes (sha256), and the preview warns at its top with a link to it.

The second half is a seam: `changes_set_back` should flag each row that would overwrite a value changed
after that import (by hand in the admin or through the API): "changed by support on 2 Dec at 10:14; this
file would set it back". It needs the change log (who changed which field of which contact, when), which
is built on another branch; until it lands this returns no problem. The plan gives what it needs: each
updated row's contact id and the stored values it replaces (`RowOutcome.previous`).
"""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import ImportBatch
from contacts.selectors import last_committed_import_of_file
from contacts.services.rows import Plan, Problem
from customers.models import Organization

ALREADY_IMPORTED = _(
    "This file was already imported for {organization} on {date} by {user}; importing it again sets "
    "back every change made since to the values it holds."
)
BY_COMMAND_LINE = _("the command line")
# For the seam below, once the change log exists: one warning per row and field set back.
SETS_BACK_A_CHANGE = _("{field} changed by {user} on {date}; this file would set it back.")


def earlier_import(organization: Organization, sha256: str) -> ImportBatch | None:
    return last_committed_import_of_file(organization, sha256)


def already_imported(batch: ImportBatch) -> str:
    """The warning about a repeated file, naming when and by whom it was imported."""
    when = formats.date_format(timezone.localtime(batch.created_at), "DATETIME_FORMAT")
    user = batch.user.get_username() if batch.user else BY_COMMAND_LINE
    return str(ALREADY_IMPORTED.format(organization=batch.organization.name, date=when, user=user))


def changes_set_back(*, batch: ImportBatch, plan: Plan) -> list[Problem]:
    """The rows of `plan` that would overwrite a change made after `batch` (SEAM: the change log).

    To finish once the change log is merged: for the contacts of `plan`'s updated outcomes, read the
    changes recorded after `batch.finished_at` that were not made by an import; for each outcome whose
    `previous` holds such a field, one Problem(row, field, SETS_BACK_A_CHANGE.format(...)).
    """
    return []
