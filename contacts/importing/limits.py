"""The monthly limit on committed imports per organization (settings.CONTACT_IMPORTS_PER_MONTH).

Race-free only when called inside the commit's transaction after `contacts.locks.lock_organization`
(the bulk service's `BulkHooks.locked`): two commits of one organization then count one after the other.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from contacts.selectors import committed_imports_between, committed_imports_this_month, month_bounds
from customers.models import Organization

OVERRIDE_PERMISSION = "contacts.override_import_limit"
# A day of the month as people read it ("2 Dec"): a Django date format, per language, since French
# needs "j N" ("2 déc.", "3 juil."): its "j M" reads "Jui" for both June and July.
DAY_MONTH = pgettext_lazy("a Django date format: a day and a short month", "j M")
MONTHLY_LIMIT_REACHED = _(
    "{organization} has already committed {count} import(s) this month, the limit is {limit}; "
    "wait until next month, or have a staff member allowed to override the limit give a reason."
)
OVERRIDE_NOT_ALLOWED = _(
    "The monthly import limit is reached and you are not allowed to override it; ask a staff member who is."
)


def check_monthly_limit(
    *, organization: Organization, user=None, override_reason: str = "", now: datetime.datetime | None = None
) -> str:
    """Raise ValidationError when the limit refuses one more commit; returns the override reason used.

    `user` None is the command line, which may override. The reason is "" when no override was needed.
    """
    limit = settings.CONTACT_IMPORTS_PER_MONTH
    count = committed_imports_this_month(organization, now)
    if count < limit:
        return ""
    reason = (override_reason or "").strip()
    if not reason:
        message = MONTHLY_LIMIT_REACHED.format(organization=organization.name, count=count, limit=limit)
        raise ValidationError(message, code="monthly_limit")
    if user is not None and not user.has_perm(OVERRIDE_PERMISSION):
        raise ValidationError(OVERRIDE_NOT_ALLOWED, code="override_not_allowed")
    return reason


# --- The month's use, shown before anyone uploads ------------------------------------------------------

MONTH_USE = ngettext_lazy(
    "%(used)s of %(limit)s import used this month",
    "%(used)s of %(limit)s imports used this month",
    "limit",
)
MONTH_USE_LAST = ngettext_lazy(
    "%(used)s of %(limit)s import used this month (on %(date)s by %(user)s)",
    "%(used)s of %(limit)s imports used this month (on %(date)s by %(user)s)",
    "limit",
)
MONTH_USED_UP = ngettext_lazy(
    "%(used)s of %(limit)s import used this month (on %(date)s by %(user)s); next from %(next)s",
    "%(used)s of %(limit)s imports used this month (on %(date)s by %(user)s); next from %(next)s",
    "limit",
)
ASK_FOR_OVERRIDE = _(
    "To import for %(organization)s before %(next)s, ask a staff member allowed to override the monthly "
    "limit: they confirm the import with a reason, which is recorded."
)
BY_COMMAND_LINE = _("the command line")


@dataclass(frozen=True)
class MonthUse:
    """An organization's committed imports this month, against the limit."""

    used: int
    limit: int
    last_at: datetime.datetime | None  # the latest committed import of the month
    last_by: str  # who made it ("" for the command line)
    next_from: datetime.datetime  # when the month's count starts again

    @property
    def used_up(self) -> bool:
        return self.used >= self.limit

    def sentence(self) -> str:
        """ "1 of 1 import used this month (on 2 Dec by support); next from 1 January"."""
        values = {"used": self.used, "limit": self.limit, "next": formats.date_format(self.next_from, "j F")}
        if self.last_at is None:
            return MONTH_USE % values
        values["date"] = day_month(self.last_at)
        values["user"] = self.last_by or BY_COMMAND_LINE
        return (MONTH_USED_UP if self.used_up else MONTH_USE_LAST) % values

    def advice(self, organization: Organization) -> str:
        """What staff who cannot override the limit can do once it is used up."""
        next_from = formats.date_format(self.next_from, "j F")
        return ASK_FOR_OVERRIDE % {"organization": organization.name, "next": next_from}


def month_use(
    organizations: Iterable[Organization], now: datetime.datetime | None = None
) -> dict[int, MonthUse]:
    """Each organization's use of the month's imports (one query for all of them)."""
    limit = settings.CONTACT_IMPORTS_PER_MONTH
    start, end = month_bounds(now)
    ids = [organization.pk for organization in organizations]
    imports = committed_imports_between(ids, start, end).values_list(
        "organization_id", "created_at", "user__username"
    )
    found: dict[int, list] = defaultdict(list)
    for organization_id, created_at, username in imports.order_by("created_at", "pk"):
        found[organization_id].append((created_at, username or ""))
    uses = {}
    for pk in ids:
        batches = found.get(pk, [])
        last_at, last_by = batches[-1] if batches else (None, "")
        uses[pk] = MonthUse(len(batches), limit, last_at, last_by, end)
    return uses


def day_month(moment: datetime.datetime) -> str:
    """The local day and short month of `moment`, in the active language ("2 Dec", "2 déc.")."""
    return formats.date_format(timezone.localtime(moment), str(DAY_MONTH))
