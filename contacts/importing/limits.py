"""The monthly limit on committed imports per organization (settings.CONTACT_IMPORTS_PER_MONTH).

Race-free only when called inside the commit's transaction after `contacts.locks.lock_organization`
(the bulk service's `BulkHooks.locked`): two commits of one organization then count one after the other.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from contacts.selectors import committed_imports_this_month
from customers.models import Organization

OVERRIDE_PERMISSION = "contacts.override_import_limit"
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
