"""Login throttling with django-axes: whose address a failure counts against, and what a locked-out
person reads. Axes counts failures per username and per address (settings: AXES_*)."""

import ipaddress
import math
from datetime import datetime, timedelta

from axes.helpers import get_cool_off
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import ngettext_lazy

LOCKED_OUT = ngettext_lazy(
    "Too many failed logins for this account or from your address. Try again at %(time)s, in %(minutes)d "
    "minute.",
    "Too many failed logins for this account or from your address. Try again at %(time)s, in %(minutes)d "
    "minutes.",
    "minutes",
)


def client_ip(request: HttpRequest) -> str | None:
    """The address a login failure counts against (AXES_CLIENT_IP_CALLABLE).

    REMOTE_ADDR; behind DJANGO_BEHIND_PROXY, the address our proxy received the request from: the entry
    TRUSTED_PROXY_COUNT places from the right of X-Forwarded-For (each proxy appends the address it saw;
    entries further left are the client's to write, so a forged one changes nothing). DRF's throttles read
    the header the same way (REST_FRAMEWORK["NUM_PROXIES"] is the same count).
    """
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not proxies or not forwarded:
        return remote
    entries = forwarded.split(",")
    try:
        return str(ipaddress.ip_address(entries[-min(proxies, len(entries))].strip()))
    except ValueError:
        return remote  # not written by our proxy: a request that came round it


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials=None):
    """The admin's login page again, with when to retry instead of "wrong password"; 429 and Retry-After."""
    retry_at = retry_time(request)
    wait = (retry_at - timezone.now()).total_seconds()
    message = LOCKED_OUT % {
        "time": formats.time_format(timezone.localtime(retry_at)),
        "minutes": max(1, math.ceil(wait / 60)),
    }
    headers = {"Retry-After": str(max(1, math.ceil(wait)))}
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if not isinstance(original_response, TemplateResponse) or form is None:
        return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8", headers=headers)
    form._errors = ErrorDict({NON_FIELD_ERRORS: form.error_class([message], error_class="nonfield")})
    response = TemplateResponse(
        request, original_response.template_name, context, status=429, headers=headers
    )
    add_never_cache_headers(response)  # as the login page it replaces
    # Returned from a middleware, past the point where Django renders template responses.
    return response.render()


def retry_time(request: HttpRequest) -> datetime:
    """When a login can succeed again, rounded up to the minute shown.

    This refused attempt counts as a failure too (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the
    lock lasts a full cool-off from now; older failures run out before it.
    """
    lifted = request.axes_attempt_time + get_cool_off(request)
    return lifted.replace(second=0, microsecond=0) + timedelta(minutes=1)
