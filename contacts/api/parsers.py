import codecs

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

BODY_TOO_LARGE = _(
    "The request body is larger than {limit:,} bytes; send a smaller one (for /contacts/bulk, fewer "
    "contacts per call)."
)
INVALID_JSON = _("The request body is not valid JSON: {error}")


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


class LimitedJSONParser(JSONParser):
    """JSON, at most `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes (DRF reads the stream without Django's check)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        meta = request.META if request is not None else {}
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        too_large = RequestBodyTooLarge(BODY_TOO_LARGE.format(limit=limit))
        if limit is not None and declared > limit:
            raise too_large
        body = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(body) > limit:
            raise too_large
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(body, encoding)
            return json.loads(text)  # NaN and Infinity refused, as JSON says
        except (ValueError, RecursionError) as error:
            raise ParseError(INVALID_JSON.format(error=error)) from None
