"""The query parameters of the lists: every one checked, an empty or unknown one refused (base.py)."""

import datetime
import re

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

UPDATED_SINCE_OUT_OF_RANGE = _("This date is out of range.")


class UpdatedSinceField(serializers.DateTimeField):
    """A date and time whose offset's `+` may arrive as a space: a URL's bare `+` is one."""

    BARE_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")

    def to_internal_value(self, value):
        if isinstance(value, str):
            value = self.BARE_PLUS.sub(r"\1+\2", value)
        return super().to_internal_value(value)


class ContactFilters(serializers.Serializer):
    email = serializers.CharField(required=False, help_text="Exact email address (case does not matter).")
    externalId = serializers.CharField(required=False, help_text="Exact identifier code of the contact.")
    customerExternalId = serializers.CharField(required=False, help_text="The customer's external code.")
    updatedSince = UpdatedSinceField(
        required=False,
        default_timezone=datetime.UTC,
        help_text=(
            "Only contacts changed at or after this ISO 8601 date and time, e.g. 2026-01-01T00:00:00Z; "
            "without an offset it is UTC, like every date of the API. Write + as %2B in a URL (a bare + "
            "in an offset is read as one anyway)."
        ),
    )

    def validate_updatedSince(self, value):
        try:
            value.timestamp()
        except (OverflowError, ValueError):
            raise serializers.ValidationError(UPDATED_SINCE_OUT_OF_RANGE) from None
        return value


class CustomerFilters(serializers.Serializer):
    externalId = serializers.CharField(required=False, help_text="Exact external identification code.")
