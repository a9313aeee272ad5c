"""JSON shapes of the API: camelCase names over the models' fields."""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.api.names import UNKNOWN_FIELD, unknown_names
from contacts.fields import API_NAMES as FIELD_API_NAMES
from contacts.models import Contact
from contacts.normalization import (
    check_identifier,
    normalize_phone,
    normalize_provider_email,
    one_line_text,
    shown,
)
from contacts.services.checks import MAIN_CONTACT_INVALID, OCCUPATION_INVALID
from contacts.services.values import FALSE_WORDS, TRUE_WORDS, parse_main_contact
from customers.models import Customer

# Model and bulk-rule field names → the API's names (for bodies, error keys and bulk items): the
# writable fields' from contacts.fields, and the read-only ones.
API_NAMES = {
    "id": "id",
    "customer": "customerId",
    "customer_id": "customerId",
    **FIELD_API_NAMES,
    "source": "source",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
}
MODEL_NAMES = {api: model for model, api in API_NAMES.items() if model not in ("customer", "id")}


def _timestamp(source: str) -> serializers.DateTimeField:
    """ISO 8601 in UTC, whatever the server's time zone."""
    return serializers.DateTimeField(source=source, default_timezone=datetime.UTC)


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What is wrong and how to fix it.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages by field, e.g. {"email": ["..."]}; for bulk calls keyed "INDEX.field".',
    )


class CustomerSerializer(serializers.ModelSerializer):
    externalId = serializers.CharField(source="external_id", help_text="The customer's code in invoicing.")
    createdAt = _timestamp("created_at")
    updatedAt = _timestamp("updated_at")

    class Meta:
        model = Customer
        fields = ("id", "externalId", "name", "createdAt", "updatedAt")
        read_only_fields = fields


POSITION_SCHEMA = {"type": "string", "enum": [*Contact.Occupation.values, None], "nullable": True}


class ContactSerializer(serializers.ModelSerializer):
    externalId = serializers.CharField(source="external_id")
    customerId = serializers.IntegerField(source="customer_id")
    customerExternalId = serializers.CharField(source="customer.external_id")
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")
    phone = serializers.SerializerMethodField()
    position = serializers.SerializerMethodField()
    isMain = serializers.BooleanField(
        source="is_main",
        help_text="true when this is its customer's main contact (a customer has at most one); false "
        "otherwise.",
    )
    createdAt = _timestamp("created_at")
    updatedAt = _timestamp("updated_at")

    class Meta:
        model = Contact
        fields = (
            "id",
            "externalId",
            "customerId",
            "customerExternalId",
            "email",
            "firstName",
            "lastName",
            "phone",
            "position",
            "isMain",
            "source",
            "createdAt",
            "updatedAt",
        )
        read_only_fields = fields

    def get_phone(self, contact: Contact) -> str | None:
        """E.164, e.g. +33612345678."""
        return contact.phone or None

    @extend_schema_field(POSITION_SCHEMA)
    def get_position(self, contact: Contact) -> str | None:
        """The occupation: ACCOUNTING, SALES, PURCHASER, PAYER, or null."""
        return contact.occupation or None


@extend_schema_field(
    {
        "type": "string",
        "enum": [*Contact.Occupation.values, "", None],
        "nullable": True,
        "description": 'The occupation; null or "" for none (any case is accepted: "sales").',
    }
)
class PositionField(serializers.ChoiceField):
    """ACCOUNTING, SALES, PURCHASER or PAYER (any case); null or "" for none."""

    def __init__(self, **kwargs):
        # The import's message; DRF fills in {input}.
        invalid = OCCUPATION_INVALID.format(value="{input}", allowed=", ".join(Contact.Occupation.values))
        super().__init__(
            choices=Contact.Occupation.values,
            allow_null=True,
            allow_blank=True,
            error_messages={"invalid_choice": invalid},
            **kwargs,
        )

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().upper()
        return super().to_internal_value(data)


MAIN_CONTACT_WORDS = sorted(TRUE_WORDS | FALSE_WORDS)


@extend_schema_field(
    {
        "oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["", *MAIN_CONTACT_WORDS]}],
        "nullable": True,
        "description": (
            "Whether the contact is its customer's main contact. true makes it the main contact (the "
            "customer's previous main contact stops being main in the same write); false makes it an "
            'ordinary contact; null, "" or leaving it out keeps it as it is. The spreadsheet\'s words '
            'are accepted too, in any case: "yes", "oui", "x" or "1" for true, "no", "non" or "0" for '
            "false."
        ),
    }
)
class MainContactField(serializers.Field):
    """true or false, or the spreadsheet's words (1, yes, oui, x / 0, no, non); null or "" leaves it."""

    def to_internal_value(self, data):
        try:
            return parse_main_contact(data)
        except ValueError:
            raise serializers.ValidationError(MAIN_CONTACT_INVALID.format(value=shown(data))) from None

    def to_representation(self, value):
        return bool(value)


def _django_checked(check, value):
    """A normalization's ValidationError as DRF's, so that every field's problem is told at once."""
    try:
        return check(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None


@extend_schema_field({"type": "string", "format": "email"})
class EmailText(serializers.CharField):
    """An email address, checked by contacts.normalization (the import's rule and messages)."""


def _text(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, allow_null=True, **kwargs)


class StrictSerializer(serializers.Serializer):
    """A body with a name this serializer does not know is refused, naming it (no silent no-op)."""

    read_only_names: tuple[str, ...] = ()

    def to_internal_value(self, data):
        if isinstance(data, dict):
            problems = unknown_names(
                data, self.fields, template=UNKNOWN_FIELD, read_only=self.read_only_names
            )
            if problems:
                raise serializers.ValidationError(problems)
        return super().to_internal_value(data)


READ_ONLY_NAMES = tuple(
    name for name in ContactSerializer.Meta.fields if name not in FIELD_API_NAMES.values()
)


class ContactWriteSerializer(StrictSerializer):
    """A contact's writable fields. Values are checked and normalized by the contact services."""

    read_only_names = READ_ONLY_NAMES

    externalId = serializers.CharField(
        help_text="Your reference for the contact, unique in your organization."
    )
    email = EmailText()
    firstName = _text()
    lastName = _text()
    phone = _text(help_text="Any usual form; stored as E.164. Without a country code, read in your country.")
    position = PositionField(required=False)
    isMain = MainContactField(required=False, allow_null=True)

    # Control characters are never stored (the model's rule, said here with the field's name): an
    # identifier code holding one is refused, a name loses them.
    def validate_externalId(self, value: str) -> str:
        _django_checked(check_identifier, value)
        return value

    def validate_firstName(self, value: str | None) -> str | None:
        return one_line_text(value) if value else value

    def validate_lastName(self, value: str | None) -> str | None:
        return one_line_text(value) if value else value

    def validate_email(self, value: str) -> str:
        if self._sent_back("email", value):
            return value
        # Refused, not stored with the import's warning: this answer has no place for a warning.
        return _django_checked(normalize_provider_email, value)

    def validate_phone(self, value: str | None) -> str | None:
        if self._sent_back("phone", value):
            return value
        region = self.context["organization"].default_phone_region
        return _django_checked(lambda raw: normalize_phone(raw or "", region), value)

    def _sent_back(self, field: str, value) -> bool:
        """The value is the contact's stored one, sent back as read: not checked again (the invoicing
        sync or an older rule stored it; the services see that it does not change)."""
        stored = self.context.get("stored")
        return stored is not None and value == getattr(stored, field)

    def service_values(self) -> dict[str, object]:
        """The validated data under the services' names, null as blank; a blank isMain is left out."""
        values = {}
        for name, value in self.validated_data.items():
            field = MODEL_NAMES[name]
            if field == "is_main" and value is None:
                continue
            values[field] = "" if value is None else value
        return values


class ContactUpdateSerializer(ContactWriteSerializer):
    """The fields to change; those left out keep their stored values."""

    externalId = serializers.CharField(required=False, help_text="A new identifier code for the contact.")
    email = EmailText(required=False)


class ContactUpsertSerializer(ContactWriteSerializer):
    """A contact by its identifier code: `email` is needed to create it, not to update it."""

    externalId = serializers.CharField(
        required=False, help_text="Optional here: the identifier code is the one in the URL."
    )
    email = EmailText(
        required=False,
        help_text="Required when the call creates the contact (201); when it updates one (200), "
        "left out keeps the stored address.",
    )


class BulkContactSerializer(serializers.Serializer):
    """One item of a bulk call: checked with exactly the spreadsheet import's rules."""

    customerExternalId = serializers.CharField(help_text="The customer's external identification code.")
    customerName = serializers.CharField(
        required=False, help_text="Checked against the stored name: a different one is a warning."
    )
    externalId = serializers.CharField(
        help_text="The contact's identifier code: known, it updates; new, it creates."
    )
    email = EmailText(
        required=False, help_text="Required for a new contact; left out, an update keeps the stored one."
    )
    firstName = _text()
    lastName = _text()
    phone = _text()
    position = PositionField(required=False)
    isMain = MainContactField(required=False, allow_null=True)
