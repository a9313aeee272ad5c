from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_MAX_OFFSET = 2**31 - 1


class PageParameters(serializers.Serializer):
    offset = serializers.IntegerField(min_value=0, max_value=_MAX_OFFSET, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)


class OffsetLimitPagination(BasePagination):
    """`?offset=0&limit=100` (limit at most 500); the page says the `total` number of results.

    A limit out of range is a 400 rather than silently changed: a client that asks for 1,000 and
    gets 500 would think it has them all.
    """

    def paginate_queryset(self, queryset, request, view=None) -> list:
        parameters = PageParameters(data=request.query_params)
        if not parameters.is_valid():
            raise ValidationError(parameters.errors)
        self.offset = parameters.validated_data["offset"]
        self.limit = parameters.validated_data["limit"]
        self.total = queryset.count()
        return list(queryset[self.offset : self.offset + self.limit])

    def get_paginated_response(self, data) -> Response:
        return Response({"total": self.total, "offset": self.offset, "limit": self.limit, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["total", "offset", "limit", "results"],
            "properties": {
                "total": {"type": "integer", "description": "How many results match, on all pages."},
                "offset": {"type": "integer"},
                "limit": {"type": "integer"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "description": "How many results to skip.",
                "schema": {"type": "integer", "minimum": 0, "maximum": _MAX_OFFSET, "default": 0},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"How many results to return, at most {MAX_LIMIT}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            },
        ]
