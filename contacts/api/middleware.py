"""X-Request-Id: each request's id, echoed in its response and written on every log line it causes.

A client's own id is kept when it is a sensible token (so that its logs and ours can be matched);
otherwise, or when it sends none, one is made up. Each API request is also logged once, with its
method, path, status, duration and organization (never its key).
"""

import contextvars
import logging
import re
import time
import uuid

from django.core.signals import request_finished
from django.dispatch import receiver

HEADER = "X-Request-Id"
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
API_PREFIX = "/api/v1/"

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_log = logging.getLogger("contacts.api.access")


class RequestIdLogFilter(logging.Filter):
    """Gives every log record the id of the request being answered ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


def request_id_of(request) -> str:
    sent = request.headers.get(HEADER, "")
    return sent if VALID_ID.fullmatch(sent) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_of(request)
        request.request_id = request_id
        # Left set after the response: Django logs a refused request ("Not Found: ...") once every
        # middleware has returned. The next request replaces it; request_finished clears it.
        current_request_id.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response[HEADER] = request_id
        if request.path.startswith(API_PREFIX):
            access_log.info(
                "%s %s %s %.1f ms organization=%s",
                request.method,
                request.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
                getattr(request, "api_organization", "-"),
            )
        return response


@receiver(request_finished)
def _forget_request_id(**kwargs) -> None:
    current_request_id.set("-")
