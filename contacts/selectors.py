"""Reads that several faces share (the admin, the API, the command line): one definition each."""

import datetime
import zoneinfo

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import Contact, ImportBatch
from customers.models import Customer, Organization


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


# --- Customers reminders cannot reach well, and the month at a glance (the admin index) -------------


def _has_contact(**conditions) -> Exists:
    """Whether the outer customer has a contact (matching `conditions`)."""
    return Exists(Contact.objects.filter(customer_id=OuterRef("pk"), **conditions))


def without_contacts() -> Q:
    """Customers with no contact at all: a condition for a Customer queryset."""
    return Q(~_has_contact())


def without_main_contact() -> Q:
    """Customers that have contacts, none of them main (those with no contact at all are apart)."""
    return Q(_has_contact()) & Q(~_has_contact(is_main=True))


def with_main_contact() -> Q:
    return Q(_has_contact(is_main=True))


def _count(queryset: QuerySet) -> Coalesce:
    """How many rows of `queryset` (filtered on OuterRef("pk")) the outer organization has."""
    counted = queryset.order_by().values("organization").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


def organizations_at_a_glance(now: datetime.datetime | None = None) -> QuerySet[Organization]:
    """The organizations whose contacts are managed here, each annotated with this month's committed
    imports (`imports_used`; the last one's `last_import_id`, `last_import_at`, `last_import_by`) and
    its customers `without_contacts` and `without_main_contact`. One query, whatever their number."""
    start, end = month_bounds(now)
    committed = ImportBatch.objects.filter(
        organization=OuterRef("pk"),
        status=ImportBatch.Status.COMMITTED,
        created_at__gte=start,
        created_at__lt=end,
    )
    last = committed.order_by("-created_at")
    customers = Customer.objects.filter(organization=OuterRef("pk"))
    return (
        Organization.objects.filter(contacts_source=Organization.ContactsSource.MANAGED)
        .annotate(
            imports_used=_count(committed),
            last_import_id=Subquery(last.values("pk")[:1]),
            last_import_at=Subquery(last.values("created_at")[:1]),
            last_import_by=Subquery(last.values("user__username")[:1]),
            without_contacts=_count(customers.filter(without_contacts())),
            without_main_contact=_count(customers.filter(without_main_contact())),
        )
        .order_by("name")
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
