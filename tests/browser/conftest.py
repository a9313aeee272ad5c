"""Headless Chromium (the system's, never a downloaded one) driven by Playwright against live_server."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# As root on a machine with no outside network: no sandbox, and nothing that tries to reach out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make to arrange
# data are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run installs it (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


# What Chromium prints when the Content-Security-Policy blocks something, or a Permissions-Policy is wrong.
POLICY_COMPLAINTS = ("Content Security Policy", "Permissions-Policy")
# The laptop screen support staff work on: every page of this app must be usable at this size.
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def page(browser):
    """A fresh laptop-sized page; the test fails if any page it loads breaks the Content-Security-Policy."""
    yield from _page(browser)


@pytest.fixture
def french_page(browser):
    """The same page in a browser set to French (it sends Accept-Language: fr-FR)."""
    yield from _page(browser, locale="fr-FR")


def _page(browser, **options):
    """A page in a new context (`options`: Playwright's, e.g. locale); its CSP complaints checked."""
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.policy_complaints = []
    page.on(
        "console",
        lambda message: (
            page.policy_complaints.append(message.text)
            if any(word in message.text for word in POLICY_COMPLAINTS)
            else None
        ),
    )
    yield page
    context.close()
    assert page.policy_complaints == []


@pytest.fixture
def screenshots_dir(tmp_path) -> Path:
    """docs/screenshots with `make screenshots` (UPDATE_SCREENSHOTS=1), else a temporary folder.

    The pictures are taken on every run either way; only `make screenshots` rewrites the tracked ones
    (each run changes them: dates, ids), so `make test` leaves the working tree clean.
    """
    if not os.environ.get("UPDATE_SCREENSHOTS"):
        return tmp_path
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
