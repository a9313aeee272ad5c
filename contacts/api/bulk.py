"""`POST /contacts/bulk`: many contacts in one call, checked by the spreadsheet import's own rules."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from contacts.api.base import OrganizationAPIView
from contacts.api.idempotency import idempotent
from contacts.api.names import UNKNOWN_FIELD, unknown_names
from contacts.api.schema import WRITE_ERRORS, errors
from contacts.api.serializers import API_NAMES, BulkContactSerializer, ContactSerializer
from contacts.fields import FIELDS
from contacts.selectors import contacts_of
from contacts.services.bulk import InvalidRows, contacts_bulk_upsert
from contacts.services.changelog import Actor
from contacts.services.rows import Plan, RowInput

MAX_ITEMS = 1000
# API name of an item's key → the bulk rules' field.
ITEM_FIELDS = {field.api: field.name for field in FIELDS}
ROW_LABEL = "item"  # the rules' messages say "items 2 and 5"; items are counted from 0, like the keys
NOT_A_LIST = _("The body must be a JSON array of contacts.")
NO_ITEMS = _("The array is empty; send at least one contact.")
TOO_MANY_ITEMS = _(
    "At most {limit:,} contacts per call; this one has {count:,}. Split it into several calls."
)
NOT_AN_OBJECT = _("Each item must be a JSON object of contact fields.")
NOT_A_VALUE = _("This value must be a string, a number, a boolean or null.")
FORBIDDEN_CHARACTER = _(
    "This value contains a NUL character or an unpaired surrogate, which cannot be stored."
)
INVALID_ITEMS = _(
    "{count} of {total} item(s) are invalid; nothing was saved. See errors, keyed by item index."
)


def _forbidden(text: str) -> bool:
    return "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text)


def rows_from_body(data) -> list[RowInput]:
    """The items as rows for the import rules; raises a 400 for a body the rules cannot read."""
    if not isinstance(data, list):
        raise ValidationError(NOT_A_LIST)
    if not data:
        raise ValidationError(NO_ITEMS)
    if len(data) > MAX_ITEMS:
        raise ValidationError(TOO_MANY_ITEMS.format(limit=MAX_ITEMS, count=len(data)))
    rows, errors = [], {}
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            errors[str(index)] = [NOT_AN_OBJECT]
            continue
        for name, messages in unknown_names(item, ITEM_FIELDS, template=UNKNOWN_FIELD).items():
            errors[f"{index}.{name}"] = messages
        values = {}
        for key, field in ITEM_FIELDS.items():
            if key not in item:
                continue
            value = item[key]
            if isinstance(value, dict | list):
                errors[f"{index}.{key}"] = [NOT_A_VALUE]
            elif isinstance(value, str) and _forbidden(value):
                errors[f"{index}.{key}"] = [FORBIDDEN_CHARACTER]
            elif isinstance(value, float) and value != value:  # NaN cannot come from JSON, but be sure
                errors[f"{index}.{key}"] = [NOT_A_VALUE]
            else:
                values[field] = value
        rows.append(RowInput(row=index, values=values))
    if errors:
        raise ValidationError(errors)
    return rows


def _problems_by_index(plan: Plan) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for problem in plan.errors:
        key = str(problem.row) if problem.field is None else f"{problem.row}.{API_NAMES[problem.field]}"
        errors.setdefault(key, []).append(problem.message)
    return errors


BULK_RESULT = inline_serializer(
    "BulkResult",
    {
        "totals": inline_serializer(
            "BulkTotals",
            {
                "items": serializers.IntegerField(),
                "new": serializers.IntegerField(),
                "updated": serializers.IntegerField(),
                "unchanged": serializers.IntegerField(),
            },
        ),
        "results": inline_serializer(
            "BulkItemResult",
            {
                "index": serializers.IntegerField(),
                "status": serializers.ChoiceField(choices=["new", "updated", "unchanged"]),
                "contact": ContactSerializer(),
            },
            many=True,
        ),
        "warnings": inline_serializer(
            "BulkWarning",
            {
                "index": serializers.IntegerField(allow_null=True),
                "field": serializers.CharField(allow_null=True),
                "message": serializers.CharField(),
            },
            many=True,
        ),
    },
)


class ContactBulk(OrganizationAPIView):
    pagination_class = None

    @extend_schema(
        operation_id="bulkUpsertContacts",
        tags=["contacts"],
        summary="Create or update up to 1,000 contacts (all or nothing)",
        description=(
            "Each item names its customer by `customerExternalId` and its contact by `externalId`: an "
            "unknown `externalId` creates the contact, a known one updates the fields the item carries: "
            'fields left out keep their stored values, a field sent as `null` or `""` clears it (unlike '
            "the spreadsheet import, where a blank cell keeps the stored value unless the upload says "
            "otherwise; `isMain: null` keeps it; `email` is required for a new contact only). Items are "
            "checked with exactly the spreadsheet import's rules and messages; two items with the same "
            "`externalId` are an error even when equal. When several items make a contact main for the "
            "same customer, the last one wins (with a warning). If any item is invalid (an unknown field "
            'included), nothing is saved and the 400 response lists the problems keyed `"INDEX.field"` '
            "(items counted from 0). Refused with 409 while your contacts are synced from the invoicing "
            "system."
        ),
        request=BulkContactSerializer(many=True),
        responses={200: BULK_RESULT, **WRITE_ERRORS, **errors(422)},
    )
    @idempotent
    def post(self, request):
        organization = self.organization
        rows = rows_from_body(request.data)
        try:
            result = contacts_bulk_upsert(
                organization=organization, rows=rows, actor=Actor.api_key(request.auth), row_label=ROW_LABEL
            )
        except InvalidRows as invalid:
            message = INVALID_ITEMS.format(count=invalid.plan.totals["invalid"], total=len(rows))
            errors = _problems_by_index(invalid.plan)
            return Response({"message": message, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        plan = result.plan
        external_ids = [outcome.values["external_id"] for outcome in plan.outcomes]
        contacts = {c.external_id: c for c in contacts_of(organization).filter(external_id__in=external_ids)}
        totals = plan.totals
        return Response(
            {
                "totals": {"items": len(rows)}
                | {key: totals[key] for key in ("new", "updated", "unchanged")},
                "results": [
                    {
                        "index": outcome.row,
                        "status": outcome.status,
                        "contact": ContactSerializer(contacts[outcome.values["external_id"]]).data,
                    }
                    for outcome in plan.outcomes
                ],
                "warnings": [
                    {
                        "index": warning.row,
                        "field": API_NAMES.get(warning.field) if warning.field else None,
                        "message": warning.message,
                    }
                    for warning in plan.warnings
                ],
            }
        )
