"""`Idempotency-Key` on POST: a retried call gets the first call's response instead of running again.

A client whose connection dropped cannot know whether its POST was applied; retrying it used to
answer 400 "already has this identifier code" (issue 15). With the header, the first request's
response is stored for `IDEMPOTENCY_KEY_HOURS` under (API key, Idempotency-Key) and replayed to any
request with the same key, method, path and body (the same JSON, whatever its key order or spacing);
the same key with another request is a 422.

The record is inserted (unique per API key) before the request is answered, in its own transaction:
of two concurrent requests with one key, the second finds it and answers 409 (with `Retry-After`)
instead of running the write a second time. Server errors, conflicts (409) and throttling are not
stored, so that a retry runs again; a record left behind by a process that died while answering is
taken over after `ABANDONED_AFTER`.
"""

import datetime
import functools
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from customers.models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_LENGTH = IdempotentRequest._meta.get_field("key").max_length
ABANDONED_AFTER = datetime.timedelta(minutes=5)
# What a request that finds its key in use is told to wait: most writes take well under a second.
IN_USE_RETRY_AFTER = 2
# Responses a retry should not get again: the next try may well succeed.
NOT_STORED = {status.HTTP_409_CONFLICT, status.HTTP_429_TOO_MANY_REQUESTS}
REPLAYED_HEADERS = ("Location", "ETag")

KEY_REUSED = _(
    "This Idempotency-Key was already used for another request (another method, URL or body) in the "
    "last {hours} hours; use a new key for a new request."
)
KEY_IN_USE = _(
    "A request with this Idempotency-Key is still being answered; retry in a few seconds to get its response."
)
KEY_INVALID = _(
    "The Idempotency-Key must be 1 to {limit} printable ASCII characters, e.g. a UUID; this one is not."
)


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


class IdempotencyKeyInUse(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_in_use"
    wait = IN_USE_RETRY_AFTER  # DRF's exception handler sends it as Retry-After


def _canonical_body(request) -> bytes:
    """The body as canonical JSON (sorted keys, no spaces): the same JSON however it was laid out is the
    same request. A body that is not JSON is refused by the parser before this is reached."""
    return json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), _canonical_body(request)):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _key_of(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_LENGTH or not (key.isascii() and key.isprintable()):
        raise ValidationError({HEADER: [KEY_INVALID.format(limit=MAX_LENGTH)]})
    return key


def _claim(api_key, key: str, fingerprint: str) -> IdempotentRequest:
    """The record of (api_key, key): a new pending one, or the stored one (raises when it cannot serve)."""
    now = timezone.now()
    expired_before = now - datetime.timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    with transaction.atomic():
        record = IdempotentRequest.objects.select_for_update().filter(api_key=api_key, key=key).first()
        if record is not None:
            abandoned = record.status is None and record.created_at < now - ABANDONED_AFTER
            if record.created_at >= expired_before and not abandoned:
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(KEY_REUSED.format(hours=settings.IDEMPOTENCY_KEY_HOURS))
                if record.status is None:
                    raise IdempotencyKeyInUse(KEY_IN_USE)
                return record
            record.delete()
        # Each key's own expired records go as it makes new ones: no table grows without bound.
        IdempotentRequest.objects.filter(api_key=api_key, created_at__lt=expired_before).delete()
    try:
        return IdempotentRequest.objects.create(api_key=api_key, key=key, fingerprint=fingerprint)
    except IntegrityError:  # a concurrent request with the same key inserted it first
        raise IdempotencyKeyInUse(KEY_IN_USE) from None


def _replay(record: IdempotentRequest) -> Response:
    response = Response(record.body, status=record.status, headers=record.headers)
    response["Idempotent-Replayed"] = "true"
    return response


def _store(record: IdempotentRequest, response) -> None:
    if response.status_code >= 500 or response.status_code in NOT_STORED:
        record.delete()
        return
    record.status = response.status_code
    record.body = getattr(response, "data", None)
    record.headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
    record.save(update_fields=["status", "body", "headers"])


def idempotent(handler):
    """Decorates a view's `post`: with an Idempotency-Key header, a retry replays the first response."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = _key_of(request)
        if key is None:
            return handler(view, request, *args, **kwargs)
        record = _claim(request.auth, key, _fingerprint(request))
        if record.status is not None:
            return _replay(record)
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as error:
            try:
                response = view.handle_exception(error)
            except Exception:
                record.delete()
                raise
        _store(record, response)
        return response

    return wrapper
