"""Every API error is JSON: `{"message": "...", "errors": {"fieldName": ["..."]}}`; never an HTML page."""

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from contacts.api.parsers import BODY_TOO_LARGE, RequestBodyTooLarge
from contacts.api.serializers import API_NAMES
from contacts.models import EMAIL_TAKEN, EXTERNAL_ID_TAKEN

API_PREFIX = "/api/"
INVALID_VALUES = _("Some values are not valid; see errors.")
NO_SUCH_ENDPOINT = _("There is no such API endpoint; the API is described at /api/docs/.")
SERVER_ERROR = _("Something went wrong on our side and it was logged; try again later.")
BAD_REQUEST = _("The request could not be read.")
PAGE_BODY_TOO_LARGE = _(
    "The request is larger than %(limit)s, the most this page accepts. Go back and send a smaller file "
    "or less data."
)
LENGTH_REQUIRED = _(
    "Send the request body with a Content-Length header: this server does not read chunked bodies "
    "(Transfer-Encoding: chunked)."
)
PAGE_LENGTH_REQUIRED = _(
    "Your browser or tool sent the request without saying its length; send it again with a "
    "Content-Length header."
)
# The titles of the pages those requests get outside /api/ (templates/refused.html).
REQUEST_TOO_LARGE = _("Request too large")
LENGTH_REQUIRED_TITLE = _("Length required")
# Codes of the services' ValidationErrors that are conflicts with the data's state, not bad input
# (services.integrity_validation_error): a value taken by a concurrent request is a 400, as when the
# check before the write finds it.
CONFLICT_CODES = {"contacts_synced", "conflict"}
# The object the request names was deleted by another request meanwhile.
GONE_CODES = {"gone"}
# If-Match named a version the contact no longer has (or a contact that does not exist).
STALE_CODES = {"stale"}
# Messages without a field in the model that belong to one in the API. Matched as rendered, in the
# request's language (a dict keyed by the lazy messages would hash them once, in the language of the import).
MESSAGE_FIELDS = ((EMAIL_TAKEN, "email"), (EXTERNAL_ID_TAKEN, "externalId"))


def error_body(message: str, errors: dict[str, list[str]] | None = None) -> dict:
    """Plain text in the active language (a lazy message would not survive being stored as JSON)."""
    texts = {field: [str(text) for text in messages] for field, messages in (errors or {}).items()}
    return {"message": str(message), "errors": texts}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF error details (nested dicts and lists) as {"field" or "field.sub": [messages]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            # Keys are the client's own names (API names, or an unknown name it sent): kept as they are.
            for sub, messages in _flatten(value, f"{prefix}{key}.").items():
                flat.setdefault(sub, []).extend(messages)
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            for sub, messages in _flatten(value, f"{prefix}{index}.").items():
                flat.setdefault(sub, []).extend(messages)
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix.rstrip(".") or NON_FIELD_ERRORS: [str(m) for m in messages]}


def _split_non_field(errors: dict[str, list[str]], default: str) -> tuple[str, dict[str, list[str]]]:
    general = errors.pop(NON_FIELD_ERRORS, []) + errors.pop("non_field_errors", [])
    fields = {str(message): field for message, field in MESSAGE_FIELDS}
    for text in list(general):
        if text in fields:
            errors.setdefault(fields[text], []).append(text)
            general.remove(text)
    return (" ".join(general) or (default if errors else BAD_REQUEST)), errors


def validation_error_response(error: DjangoValidationError) -> Response:
    """A services' ValidationError: 409 for the data's state (synced contacts, a race), 404 for an object
    deleted meanwhile, 412 for a stale If-Match, else 400."""
    if hasattr(error, "error_dict"):
        codes = {e.code for errors in error.error_dict.values() for e in errors}
        raw = {API_NAMES.get(field, field): messages for field, messages in error.message_dict.items()}
    else:
        codes = {e.code for e in error.error_list}
        raw = {NON_FIELD_ERRORS: list(error.messages)}
    message, errors = _split_non_field(raw, INVALID_VALUES)
    if codes & GONE_CODES:
        code = status.HTTP_404_NOT_FOUND
    elif codes & STALE_CODES:
        code = status.HTTP_412_PRECONDITION_FAILED
    elif codes & CONFLICT_CODES:
        code = status.HTTP_409_CONFLICT
    else:
        code = status.HTTP_400_BAD_REQUEST
    return Response(error_body(message, errors), status=code)


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        return validation_error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestBodyTooLarge(BODY_TOO_LARGE.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's handler500 below answers with JSON
    if isinstance(exc, exceptions.ValidationError):
        message, errors = _split_non_field(_flatten(exc.detail), INVALID_VALUES)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
        flat = _flatten(detail)
        message = " ".join(flat.pop(NON_FIELD_ERRORS, [])) or str(detail)
        message, errors = (message, flat)
    response.data = error_body(message, errors)
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


@csrf_exempt
def no_such_endpoint(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """Any other /api/ URL: JSON even in DEBUG, where Django would answer with its HTML page of URLs."""
    return JsonResponse(error_body(NO_SUCH_ENDPOINT), status=404)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return no_such_endpoint(request)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body(BAD_REQUEST), status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body(SERVER_ERROR), status=500)
    return defaults.server_error(request)


def body_too_large(request: HttpRequest, *, limit: int) -> HttpResponse:
    """413 for a body over `limit` bytes (refused unread by contacts_site.middleware): JSON under /api/."""
    page = PAGE_BODY_TOO_LARGE % {"limit": filesizeformat(limit)}
    return _refused(request, 413, BODY_TOO_LARGE.format(limit=limit), REQUEST_TOO_LARGE, page)


def length_required(request: HttpRequest) -> HttpResponse:
    """411 for a body sent without Content-Length (chunked), which a WSGI server gives Django none of."""
    return _refused(request, 411, LENGTH_REQUIRED, LENGTH_REQUIRED_TITLE, PAGE_LENGTH_REQUIRED)


def _refused(request: HttpRequest, status: int, api_message, title, page_message) -> HttpResponse:
    """A request refused before any view: the API's JSON error under /api/, a small page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body(api_message), status=status)
    page = loader.render_to_string("refused.html", {"title": title, "message": page_message})
    return HttpResponse(page, status=status)
