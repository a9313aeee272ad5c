"""A big file in the browser: the progress page updates itself while a worker previews and commits it,
then goes on to the preview and to the import's page in the history."""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import Contact, ImportBatch, ImportUpload
from tests.factories import CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import contact_row, csv_bytes

# The worker runs here; on PostgreSQL its progress goes through a second connection ("progress").
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

ROWS = 40


def run_worker() -> None:
    """The worker, in this process: it shares the live server's in-memory database."""
    options = ["--batch", "--no-reload", "--no-startup-delay", "--sweep-every=0"]
    call_command("import_worker", *options, stdout=io.StringIO())


def test_a_big_file_is_followed_on_its_progress_page_to_the_preview_and_the_result(
    page, live_server, tmp_path, settings, screenshots_dir
):
    settings.CONTACT_IMPORT_BACKGROUND_ROWS = 10
    organization = OrganizationFactory(name="Acme Industries", slug="acme")
    customer = CustomerFactory(organization=organization, name="Boulangerie Martin", external_id="AC-1001")
    UserFactory(username="admin", is_superuser=True)
    upload = tmp_path / "big-file.csv"
    upload.write_bytes(
        csv_bytes([contact_row(customer, f"AC-B{i}", f"b{i}@boulangerie.example") for i in range(ROWS)])
    )

    page.goto(live_server.url + "/admin/contacts/contact/import/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pass-for-tests")
    page.click("input[type=submit]")
    page.select_option("#id_organization", label="Acme Industries")
    page.set_input_files("#id_file", upload)
    page.click("#import-form input[type=submit]")

    # No worker yet: the page says it waits for one.
    expect(page).to_have_url(re.compile(r"/import/progress/preview/[0-9a-f]{32}/$"))
    expect(page.locator("#progress-stage")).to_have_text("Waiting for a worker")
    expect(page.locator("#progress-waiting")).to_contain_text("manage.py import_worker")
    page.evaluate("window.notReloaded = true")

    # A worker reports: the page shows it within a poll or two, without reloading.
    started = timezone.now() - datetime.timedelta(seconds=12)
    ImportUpload.objects.update(
        status=ImportUpload.Status.RUNNING,
        stage="checking",
        rows_done=20,
        rows_total=ROWS,
        started_at=started,
        heartbeat_at=timezone.now(),
    )
    expect(page.locator("#progress-stage")).to_have_text("Checking the rows")
    expect(page.locator("#progress-rows")).to_have_text(f"20 of {ROWS} rows")
    expect(page.locator("#progress-elapsed")).to_contain_text("Elapsed: 1")
    expect(page.locator("#progress-remaining")).to_contain_text("left")
    assert page.evaluate("window.notReloaded") is True
    # Checking is the second stage of a preview (25 % to 100 % of its time), and half the rows are checked.
    assert page.evaluate("document.getElementById('progress-bar').value") == pytest.approx(0.625)
    page.screenshot(path=screenshots_dir / "import-progress.png", full_page=True)

    # The worker runs the preview for real; the page lands on the preview.
    ImportUpload.objects.update(status=ImportUpload.Status.QUEUED, stage="", rows_done=0, rows_total=0)
    run_worker()
    expect(page.locator("h1")).to_have_text("Preview of big-file.csv", timeout=20_000)
    expect(page.locator("#total-new")).to_have_text(str(ROWS))
    assert Contact.objects.count() == 0

    page.click("#confirm-import")
    expect(page).to_have_url(re.compile(r"/import/progress/\d+/$"))
    expect(page.locator("#progress-stage")).to_have_text("Waiting for a worker")
    run_worker()

    batch = ImportBatch.objects.get()
    expect(page).to_have_url(re.compile(rf"/admin/contacts/importbatch/{batch.pk}/change/$"), timeout=20_000)
    assert (batch.status, batch.new) == ("committed", ROWS)
    assert Contact.objects.filter(organization=organization).count() == ROWS
