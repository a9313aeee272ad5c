"""Reads that several faces share (the admin, the API, the command line): one definition each."""

import datetime
import zoneinfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from contacts.models import Contact, ImportBatch
from customers.models import Organization


def contacts_of(organization: Organization) -> QuerySet:
    """The organization's contacts with their customer, in a stable order (the API pages through it)."""
    return Contact.objects.filter(organization=organization).select_related("customer").order_by("id")


def month_bounds(now: datetime.datetime | None = None) -> tuple[datetime.datetime, datetime.datetime]:
    """The calendar month holding `now`, in settings.TIME_ZONE: [start, end)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = (now or timezone.now()).astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, next_month.replace(tzinfo=zone)


def committed_imports_this_month(organization: Organization, now: datetime.datetime | None = None) -> int:
    """How many imports of the organization were committed in the calendar month holding `now`."""
    start, end = month_bounds(now)
    return committed_imports_between([organization.pk], start, end).count()


def committed_imports_between(
    organization_ids: list[int], start: datetime.datetime, end: datetime.datetime
) -> QuerySet:
    """The committed imports of these organizations in [start, end)."""
    return ImportBatch.objects.filter(
        organization_id__in=organization_ids,
        status=ImportBatch.Status.COMMITTED,
        created_at__gte=start,
        created_at__lt=end,
    )


def last_committed_import_of_file(organization: Organization, sha256: str) -> ImportBatch | None:
    """The organization's latest committed import of the file with this sha256, if any."""
    return (
        ImportBatch.objects.filter(
            organization=organization, sha256=sha256, status=ImportBatch.Status.COMMITTED
        )
        .select_related("user")
        .order_by("-created_at", "-pk")
        .first()
    )
