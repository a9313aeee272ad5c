"""Login guessing is throttled by username and by address (issue 13, point 5; django-axes)."""

import re
from datetime import timedelta
from html import unescape

import pytest
from axes.models import AccessAttempt
from django.conf import settings as project_settings
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone

from contacts_site.logins import LOCKED_OUT
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
PASSWORD = "pass-for-tests"  # tests.factories.UserFactory's
ATTACKER, COLLEAGUE, PROXY = "203.0.113.5", "198.51.100.7", "10.0.0.2"


def log_in(username: str, password: str, address: str = ATTACKER, **headers):
    client = Client(REMOTE_ADDR=address, headers=headers)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    response.logged_in = "_auth_user_id" in client.session
    return response


def guess(username: str, times: int, address: str = ATTACKER, **headers) -> list[int]:
    return [log_in(username, "wrong", address, **headers).status_code for _ in range(times)]


def shown_error(response) -> str:
    return unescape(re.search(r'<p class="errornote">\s*(.*?)\s*</p>', response.content.decode(), re.S)[1])


def time_ago(minutes: int) -> None:
    """Every recorded failure happened `minutes` earlier than it did."""
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=minutes))


def test_the_defaults_are_ten_failures_per_user_or_address_in_fifteen_minutes():
    assert project_settings.AXES_FAILURE_LIMIT == 10
    assert timedelta(minutes=15) == project_settings.AXES_COOLOFF_TIME
    assert project_settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]


def test_ten_wrong_passwords_lock_the_account_so_the_right_one_is_refused():
    UserFactory(username="support")

    statuses = guess("support", 10)
    right = log_in("support", PASSWORD)

    assert statuses == [200] * 9 + [429]
    assert right.status_code == 429
    assert not right.logged_in


def test_nine_wrong_passwords_do_not_lock_the_account():
    UserFactory(username="support")
    guess("support", 9)

    right = log_in("support", PASSWORD)

    assert (right.status_code, right.logged_in) == (302, True)


def test_another_user_from_another_address_still_logs_in():
    UserFactory(username="support")
    UserFactory(username="camille")
    guess("support", 10)

    colleague = log_in("camille", PASSWORD, COLLEAGUE)

    assert (colleague.status_code, colleague.logged_in) == (302, True)


def test_a_locked_account_is_refused_from_every_address():
    UserFactory(username="support")
    for number in range(10):
        guess("support", 1, f"192.0.2.{number}")

    right = log_in("support", PASSWORD, COLLEAGUE)

    assert (right.status_code, right.logged_in) == (429, False)


def test_a_locked_address_is_refused_for_every_account():
    UserFactory(username="camille")
    for number in range(10):
        guess(f"someone{number}", 1)

    right = log_in("camille", PASSWORD)

    assert (right.status_code, right.logged_in) == (429, False)


def test_the_lock_expires_after_the_lockout_minutes():
    UserFactory(username="support")
    guess("support", 10)
    time_ago(14)
    still_locked = log_in("support", PASSWORD)  # and, tried while locked, the lock starts again
    time_ago(16)

    right = log_in("support", PASSWORD)

    assert still_locked.status_code == 429
    assert (right.status_code, right.logged_in) == (302, True)


def test_the_login_page_says_when_to_try_again():
    UserFactory(username="support")
    guess("support", 9)

    locked = log_in("support", "wrong")

    attempt = AccessAttempt.objects.get()
    retry_at = (attempt.attempt_time + timedelta(minutes=15)).replace(second=0, microsecond=0)
    retry_at += timedelta(minutes=1)
    shown = formats.time_format(timezone.localtime(retry_at))
    expected = {str(LOCKED_OUT % {"time": shown, "minutes": minutes}) for minutes in (15, 16)}
    assert locked.status_code == 429
    assert shown_error(locked) in expected
    assert 14 * 60 <= int(locked["Retry-After"]) <= 16 * 60
    assert 'name="username"' in locked.content.decode()  # the login form, to try again later


# --- Behind the proxy (DJANGO_BEHIND_PROXY) ------------------------------------------------------------


def test_behind_the_proxy_the_forwarded_address_is_locked_not_the_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="camille")
    for number in range(10):
        guess(f"someone{number}", 1, PROXY, x_forwarded_for=ATTACKER)

    colleague = log_in("camille", PASSWORD, PROXY, x_forwarded_for=COLLEAGUE)
    attacker = log_in("camille", PASSWORD, PROXY, x_forwarded_for=ATTACKER)
    forged = log_in("camille", PASSWORD, PROXY, x_forwarded_for=f"{COLLEAGUE}, {ATTACKER}")

    assert (colleague.status_code, colleague.logged_in) == (302, True)
    assert attacker.status_code == 429
    assert forged.status_code == 429  # the proxy appends what it saw; the client's own entry is ignored
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_without_the_proxy_setting_a_forwarded_header_is_the_clients_and_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    UserFactory(username="camille")
    for number in range(10):
        guess(f"someone{number}", 1, ATTACKER, x_forwarded_for=f"192.0.2.{number}")

    right = log_in("camille", PASSWORD, ATTACKER, x_forwarded_for=COLLEAGUE)

    assert right.status_code == 429


def test_a_forwarded_entry_that_is_no_address_counts_against_the_connection(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    guess("support", 1, PROXY, x_forwarded_for="not-an-address")

    assert AccessAttempt.objects.get().ip_address == PROXY
