"""Site-wide guards that no view can forget."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control

from contacts.api.errors import API_PREFIX, body_too_large, length_required


class ResponseHeadersMiddleware:
    """Permissions-Policy on every response; `Cache-Control: no-store` on every API response.

    API responses carry contacts' personal data: no browser or shared cache may keep them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if request.path.startswith(API_PREFIX):
            patch_cache_control(response, no_store=True)
        return response


class _CappedStream:
    """The body of a request that declared no length: reading it past its route's limit raises."""

    _UNREAD = object()

    def __init__(self, stream, request: HttpRequest):
        self._stream, self._request = stream, request
        self._limit = self._UNREAD  # the route is looked up on the first read: most bodies are never read
        self._read = 0

    def _wanted(self, size: int | None) -> int | None:
        if self._limit is self._UNREAD:
            self._limit = body_limit(self._request)
        if self._limit is None:
            return size
        # One byte past the limit is enough to know; never ask the stream for more.
        most = self._limit - self._read + 1
        return most if size is None or size < 0 else min(size, most)

    def _took(self, chunk: bytes) -> bytes:
        self._read += len(chunk)
        if self._limit is not None and self._read > self._limit:
            self._request.body_over_limit = self._limit
            raise RequestDataTooBig("The request body is larger than its route allows.")
        return chunk

    def read(self, size: int | None = -1) -> bytes:
        return self._took(self._stream.read(self._wanted(size)))

    def readline(self, size: int | None = -1) -> bytes:
        return self._took(self._stream.readline(self._wanted(size)))

    def close(self) -> None:
        self._stream.close()


class RequestBodyLimitMiddleware:
    """Refuse a request body larger than its route allows before anything reads it; 413.

    Django reads a body only when asked, but CsrfViewMiddleware asks for every POST's form data, and a
    multipart body is spooled to a temporary file as it is parsed: an anonymous 300 MB POST used to be read
    to the end before its 403. A declared Content-Length over the limit is refused at once; a body without
    one (chunked) is a 411 under WSGI, which gives Django nothing of it to read; under ASGI, which gives
    all of it, it is cut off as soon as reading it passes the limit. The limit is
    DATA_UPLOAD_MAX_MEMORY_SIZE except for staff on the routes listed in REQUEST_BODY_LIMITS (the import
    upload). Placed after AuthenticationMiddleware: every
    process_view (CsrfViewMiddleware's reads the form) and every view runs after it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = _declared_length(request)
        if declared is None and isinstance(request, WSGIRequest) and "HTTP_TRANSFER_ENCODING" in request.META:
            # WSGI gives Django a body of Content-Length bytes, so none of a chunked one: it would be
            # read as empty (an empty bulk call, a login without its form) instead of refused.
            return length_required(request)
        if declared is None:
            request._stream = _CappedStream(request._stream, request)
        else:
            default = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            limit = default if default is not None and declared <= default else body_limit(request)
            if limit is not None and declared > limit:
                return body_too_large(request, limit=limit)
        response = self.get_response(request)
        # Whatever the layers inside made of the error (a 400, DEBUG's page), the answer is a 413.
        over = getattr(request, "body_over_limit", None)
        return response if over is None else body_too_large(request, limit=over)


def body_limit(request: HttpRequest) -> int | None:
    """The most bytes the body of `request` may have on its route (None: no limit)."""
    default = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        route = resolve(request.path_info).view_name
    except Resolver404:
        return default
    if route not in settings.REQUEST_BODY_LIMITS:
        return default
    # Larger bodies for staff only: an anonymous upload is never read, nor spooled to disk.
    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff):
        return default
    return settings.REQUEST_BODY_LIMITS[route]


def _declared_length(request: HttpRequest) -> int | None:
    """The Content-Length the client declared, or None when there is none (or it is not a number)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return length if length >= 0 else None
