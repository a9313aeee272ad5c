"""`GET /contacts/changes`: the organization's contacts' created, updated and deleted events, oldest
first, read from the change log, so that a client can mirror its contacts exactly, deletions included.

The first call may pass `since=<ISO time>`; every page returns an opaque `cursor` to pass back.

Why a cursor can never skip an event. The feed pages by each entry's change number (`seq`), never by
time or by the table's autoincrement id: on PostgreSQL a transaction that took id 10 (or time 10:00:01)
can commit after another took id 11 (or 10:00:02), and a client that already read 11 would never see
10. The change numbers are allocated by contacts.services.changelog under a per-organization counter
that every writer of the organization takes last and holds until its commit, so numbers are handed out
in commit order without gaps: the committed entries are always numbers 1…N, and whatever commits
after a client read N gets a larger number. Measured cost, and the alternative considered (PostgreSQL
transaction ids with a pg_snapshot_xmin horizon, which needs no lock but holds every organization's
feed back behind the oldest open transaction of the database, and does not exist on SQLite): see the
docstring of contacts.services.changelog and bench/changes_bench.py.

`since` maps to the first change recorded at or after that time. A change's time is taken while its
transaction writes, so times and numbers may disagree by a write's duration; the search starts an hour
earlier (SINCE_MARGIN) to be safe, and a client may get a few events from just before `since`, never
miss one after it.
"""

import datetime

from django.core import signing
from django.db.models import Max
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from contacts.api.base import OrganizationAPIView, query_filters
from contacts.api.filters import UpdatedSinceField
from contacts.api.schema import READ_ERRORS
from contacts.api.serializers import API_NAMES, ContactSerializer
from contacts.models import ContactChange

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
SINCE_MARGIN = datetime.timedelta(hours=1)
CURSOR_SALT = "contacts.api.changes"
INVALID_CURSOR = _("This cursor is not valid: pass back the `cursor` of a previous page exactly as it came.")
SINCE_AND_CURSOR = _("Pass either `since` (first call) or `cursor` (every later call), not both.")
SINCE_OUT_OF_RANGE = _("This date is out of range.")
# created and updated carry the contact's values; the log's "demoted" is an update, "erased" a deletion.
EVENTS = {
    ContactChange.Action.CREATED: "created",
    ContactChange.Action.UPDATED: "updated",
    ContactChange.Action.DEMOTED: "updated",
    ContactChange.Action.DELETED: "deleted",
    ContactChange.Action.ERASED: "deleted",
}
BLANK_AS_NULL = {"phone", "occupation"}  # as the contacts endpoints show them


class ChangeFilters(serializers.Serializer):
    since = UpdatedSinceField(
        required=False,
        default_timezone=datetime.UTC,
        help_text=(
            "First call only: start with the changes recorded at or after this ISO 8601 time, e.g. "
            "2026-01-01T00:00:00Z (without it, the first call starts with the oldest change)."
        ),
    )
    cursor = serializers.CharField(
        required=False, help_text="Every later call: the `cursor` of the previous page, as it came."
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT, help_text="Events per page."
    )

    def validate_since(self, value):
        try:
            (value - SINCE_MARGIN).timestamp()
        except (OverflowError, ValueError):
            raise serializers.ValidationError(SINCE_OUT_OF_RANGE) from None
        return value

    def validate(self, data):
        if "since" in data and "cursor" in data:
            raise serializers.ValidationError(SINCE_AND_CURSOR)
        return data


class ContactValuesSerializer(serializers.Serializer):
    """The contact's fields an event carries, by their API names (a deleted contact's are not sent)."""

    id = serializers.IntegerField(required=False, help_text="created only.")
    customerId = serializers.IntegerField(required=False, help_text="created only.")
    customerExternalId = serializers.CharField(required=False, allow_null=True, help_text="created only.")
    createdAt = serializers.DateTimeField(required=False, help_text="created only.")
    updatedAt = serializers.DateTimeField(
        required=False, help_text="created only: the creation time (a later change is an event of its own)."
    )
    externalId = serializers.CharField(required=False)
    email = serializers.CharField(required=False, allow_null=True)
    firstName = serializers.CharField(required=False, allow_null=True)
    lastName = serializers.CharField(required=False, allow_null=True)
    phone = serializers.CharField(required=False, allow_null=True)
    position = serializers.CharField(required=False, allow_null=True)
    isMain = serializers.BooleanField(required=False)
    source = serializers.CharField(required=False)


class ChangeEventSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=["created", "updated", "deleted"])
    contactId = serializers.IntegerField(help_text="The contact's id; it stays after a deletion.")
    externalId = serializers.CharField()
    customerId = serializers.IntegerField(allow_null=True)
    at = serializers.DateTimeField(help_text="When it was recorded (UTC).")
    channel = serializers.ChoiceField(choices=ContactChange.Channel.values)
    values = ContactValuesSerializer(
        help_text="created: every field of the contact, as GET of the contact shows it (updatedAt: its "
        "creation time); updated: the changed fields, as they are now; deleted: empty. A person's erased "
        "email, names and phone are null."
    )


class ChangesPageSerializer(serializers.Serializer):
    events = ChangeEventSerializer(many=True)
    cursor = serializers.CharField(help_text="Pass it back as `cursor` for the next page (even when empty).")
    hasMore = serializers.BooleanField(help_text="More events are waiting: ask again now.")


def encode_cursor(organization_id: int, seq: int) -> str:
    """The same position gives the same cursor: signed without a timestamp (signing.dumps adds one, so
    an empty page's cursor changed when the second did)."""
    return signing.Signer(salt=CURSOR_SALT).sign_object([organization_id, seq])


def decode_cursor(organization_id: int, cursor: str) -> int:
    try:
        owner, seq = _unsigned(cursor)
    except (signing.BadSignature, ValueError, TypeError):
        raise ValidationError({"cursor": [INVALID_CURSOR]}) from None
    if owner != organization_id or not isinstance(seq, int) or seq < 0:
        raise ValidationError({"cursor": [INVALID_CURSOR]})
    return seq


def _unsigned(cursor: str):
    if cursor.count(":") == 2:
        # A cursor handed out before they were signed without a timestamp (value:time:signature): still good.
        return signing.loads(cursor, salt=CURSOR_SALT)
    return signing.Signer(salt=CURSOR_SALT).unsign_object(cursor)


def _start(organization_id: int, since: datetime.datetime | None) -> int:
    """The change number to read after, for a first call."""
    log = ContactChange.objects.filter(organization_id=organization_id, seq__isnull=False)
    if since is None:
        return 0
    floor = (
        log.filter(at__lt=since - SINCE_MARGIN).order_by("-seq").values_list("seq", flat=True).first() or 0
    )
    first = log.filter(seq__gt=floor, at__gte=since).order_by("seq").values_list("seq", flat=True).first()
    if first is not None:
        return first - 1
    return log.aggregate(last=Max("seq"))["last"] or floor


def _values(entry: dict) -> dict:
    after = entry["after"] or {}
    values = {}
    for name, value in after.items():
        if name in API_NAMES:
            values[API_NAMES[name]] = None if name in BLANK_AS_NULL and value == "" else value
    return values


def _utc(moment: datetime.datetime) -> str:
    """As the contacts endpoints write times: ISO 8601 in UTC, with Z."""
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _created_fields(entry: dict) -> dict:
    """The fields a created event adds to the logged values so that it reads like GET of the contact: its
    id, customer, customer code and times, read with the entry (the page's one query joins them).

    The change log keeps the writable fields only; a contact's creation time never changes, so it is
    read from the contact (the event's time when it was deleted since). updatedAt is the creation
    time too: the contact as it was created; each later change is an event of its own.
    """
    at = _utc(entry["contact__created_at"] or entry["at"])
    return {
        "id": entry["contact_id"],
        "customerId": entry["customer_id"],
        "customerExternalId": entry["customer__external_id"],
        "createdAt": at,
        "updatedAt": at,
    }


def _event(entry: dict) -> dict:
    event = EVENTS[entry["action"]]
    values = {} if event == "deleted" else _values(entry)
    if event == "created":
        values = _in_get_order(values | _created_fields(entry))
    return {
        "event": event,
        "contactId": entry["contact_id"],
        "externalId": entry["external_id"],
        "customerId": entry["customer_id"],
        "at": _utc(entry["at"]),
        "channel": entry["channel"],
        "values": values,
    }


# A created event's values in the order GET of the contact gives them.
_GET_ORDER = {name: index for index, name in enumerate(ContactSerializer.Meta.fields)}


def _in_get_order(values: dict) -> dict:
    return dict(sorted(values.items(), key=lambda item: _GET_ORDER.get(item[0], len(_GET_ORDER))))


class ContactChanges(OrganizationAPIView):
    pagination_class = None
    filters = ChangeFilters

    @extend_schema(
        operation_id="listContactChanges",
        tags=["changes"],
        summary="Follow every change to your contacts, deletions included",
        description=(
            "Created, updated and deleted events, oldest first. The first call may pass `since`; every "
            "response has a `cursor`: pass it back to get the events that follow, forever (an empty "
            "page keeps its cursor). Applying the events in order to a copy keyed by `contactId` "
            "(created: store `values`; updated: merge `values`; deleted: remove) keeps the copy equal "
            "to your contacts: no event committed after your cursor is ever skipped, whatever the order "
            "in which concurrent writes commit."
        ),
        parameters=[ChangeFilters],
        responses={200: ChangesPageSerializer, **READ_ERRORS},
        examples=[
            OpenApiExample(
                "A page",
                response_only=True,
                value={
                    "events": [
                        {
                            "event": "updated",
                            "contactId": 42,
                            "externalId": "CT-9001",
                            "customerId": 7,
                            "at": "2026-12-01T09:30:00Z",
                            "channel": "import",
                            "values": {"email": "jeanne.roux@example.com", "source": "import"},
                        }
                    ],
                    "cursor": "WzEsIDEyXQ:1tQx…",
                    "hasMore": False,
                },
            )
        ],
    )
    def get(self, request):
        filters = query_filters(ChangeFilters, request)
        organization_id = self.organization.pk
        if "cursor" in filters:
            after = decode_cursor(organization_id, filters["cursor"])
        else:
            after = _start(organization_id, filters.get("since"))
        limit = filters["limit"]
        entries = list(
            ContactChange.objects.filter(organization_id=organization_id, seq__gt=after)
            .order_by("seq")
            .values(
                *("seq", "action", "contact_id", "external_id", "customer_id", "at", "channel", "after"),
                *("customer__external_id", "contact__created_at"),  # for created events (LEFT JOINs)
            )[: limit + 1]
        )
        page = entries[:limit]
        last = page[-1]["seq"] if page else after
        return Response(
            {
                "events": [_event(entry) for entry in page],
                "cursor": encode_cursor(organization_id, last),
                "hasMore": len(entries) > limit,
            }
        )
