"""The monthly limit on committed imports per organization (settings.CONTACT_IMPORTS_PER_MONTH).

Race-free only when called inside the commit's transaction after `lock_organization`: two commits of
one organization then count one after the other.
"""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.models import ImportBatch
from customers.models import Organization

OVERRIDE_PERMISSION = "contacts.override_import_limit"
MONTHLY_LIMIT_REACHED = (
    "{organization} has already committed {count} import(s) this month, the limit is {limit}; "
    "wait until next month, or have a staff member allowed to override the limit give a reason."
)
OVERRIDE_NOT_ALLOWED = (
    "The monthly import limit is reached and you are not allowed to override it; ask a staff member who is."
)


def lock_organization(organization_id: int) -> Organization:
    """Serialize imports and bulk writes of one organization (the monthly count spans its batches)."""
    return Organization.objects.select_for_update().get(pk=organization_id)


def month_bounds(now: datetime.datetime | None = None) -> tuple[datetime.datetime, datetime.datetime]:
    """The calendar month holding `now`, in settings.TIME_ZONE: [start, end)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = (now or timezone.now()).astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, next_month.replace(tzinfo=zone)


def committed_imports_this_month(organization: Organization, now: datetime.datetime | None = None) -> int:
    start, end = month_bounds(now)
    return ImportBatch.objects.filter(
        organization=organization,
        status=ImportBatch.Status.COMMITTED,
        created_at__gte=start,
        created_at__lt=end,
    ).count()


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
