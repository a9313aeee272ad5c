import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contacts.importing import limits, pipeline, reading
from contacts.importing.pipeline import NOTHING_TO_WRITE
from contacts.management.commands import import_contacts
from contacts.models import Contact, ImportBatch
from contacts.normalization import INVALID_EMAIL
from contacts.services.contacts import CONTACTS_SYNCED
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import contact_row, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limit_settings(settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 1


def run(*args) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) as `manage.py import_contacts` would give them."""
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command("import_contacts", *[str(a) for a in args], stdout=stdout, stderr=stderr)
    except CommandError as error:
        return error.returncode, stdout.getvalue(), str(error)
    return 0, stdout.getvalue(), stderr.getvalue()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def valid_file(tmp_path, org, name="contacts.csv"):
    customer = CustomerFactory(organization=org)
    return write(tmp_path, name, csv_bytes([contact_row(customer, "C-1", "a@b.example", is_main="1")]))


def test_dry_run_prints_the_json_object_and_writes_nothing(tmp_path, org):
    path = valid_file(tmp_path, org)

    status, out, _ = run(path, "--organization", org.slug, "--json")

    assert status == 0
    assert json.loads(out) == {
        "organization": org.slug,
        "file": "contacts.csv",
        "committed": False,
        "batch": None,
        "totals": {"rows": 1, "new": 1, "updated": 0, "unchanged": 0, "invalid": 0},
        "errors": [],
        "warnings": [],
    }
    assert Contact.objects.count() == 0


def test_commit_writes_and_exits_zero(tmp_path, org):
    customer = CustomerFactory(organization=org)
    path = write(tmp_path, "contacts.xlsx", xlsx_bytes([contact_row(customer, "C-1", "a@b.example")]))

    status, out, _ = run(path, "--organization", org.slug, "--commit", "--json")

    assert status == 0
    assert json.loads(out)["committed"] is True
    assert Contact.objects.get().source == "import"
    assert ImportBatch.objects.get().format == "xlsx"
    assert json.loads(out)["batch"] == ImportBatch.objects.get().pk  # what undo_import takes


def test_invalid_row_exits_one_with_the_errors_and_writes_nothing(tmp_path, org):
    customer = CustomerFactory(organization=org)
    path = write(
        tmp_path,
        "c.csv",
        csv_bytes([contact_row(customer, "C-1", "a@b.example"), contact_row(customer, "C-2", "bob@acme")]),
    )

    status, out, _ = run(path, "--organization", org.slug, "--commit", "--json")

    result = json.loads(out)
    assert status == 1
    assert result["committed"] is False
    assert result["errors"] == [
        {"row": 3, "column": "Contact's Email", "message": INVALID_EMAIL.format(value="bob@acme")}
    ]
    assert Contact.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_skip_invalid_exits_zero_and_writes_the_valid_rows(tmp_path, org):
    customer = CustomerFactory(organization=org)
    path = write(
        tmp_path,
        "c.csv",
        csv_bytes([contact_row(customer, "C-1", "a@b.example"), contact_row(customer, "C-2", "bob@acme")]),
    )

    status, out, _ = run(path, "--organization", org.slug, "--commit", "--skip-invalid", "--json")

    assert status == 0
    assert json.loads(out)["totals"]["invalid"] == 1
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["C-1"]


def test_invalid_dry_run_exits_one_with_a_readable_summary(tmp_path, org):
    customer = CustomerFactory(organization=org)
    path = write(tmp_path, "c.csv", csv_bytes([contact_row(customer, "C-2", "bob@acme")]))

    status, out, reason = run(path, "--organization", org.slug)

    assert status == 1
    assert reason == import_contacts.INVALID_FILE
    assert "1 rows: 0 new, 0 updated, 0 unchanged, 1 invalid" in out
    assert f'Row 2, "Contact\'s Email": {INVALID_EMAIL.format(value="bob@acme")}' in out


def test_monthly_limit_exits_one_and_override_passes(tmp_path, org):
    path = valid_file(tmp_path, org)
    assert run(path, "--organization", org.slug, "--commit")[0] == 0
    customer = CustomerFactory(organization=org)
    second = write(tmp_path, "second.csv", csv_bytes([contact_row(customer, "C-2", "b@b.example")]))

    status, out, reason = run(second, "--organization", org.slug, "--commit", "--json")
    refused_count = Contact.objects.count()
    overridden = run(second, "--organization", org.slug, "--commit", "--override-limit", "Client asked")

    message = limits.MONTHLY_LIMIT_REACHED.format(organization=org.name, count=1, limit=1)
    assert (status, reason) == (1, message)
    assert json.loads(out)["errors"] == [{"row": None, "column": None, "message": message}]
    assert refused_count == 1
    assert overridden[0] == 0
    assert ImportBatch.objects.get(file_name="second.csv").override_reason == "Client asked"


def test_synced_organization_exits_one(tmp_path, synced_org):
    path = valid_file(tmp_path, synced_org)

    status, out, reason = run(path, "--organization", synced_org.slug, "--commit", "--json")

    assert (status, reason) == (1, CONTACTS_SYNCED.format(organization=synced_org.name))
    assert json.loads(out)["committed"] is False
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", reading.EMPTY),
        (csv_bytes([]), pipeline.NO_DATA_ROWS),
        (b"Customer name,Contact's Email\nAcme,a@b.example\n", "External identification code"),
        (bytes(range(256)) * 40, "not a CSV or Excel file"),
    ],
)
def test_a_file_level_problem_exits_one_with_a_one_line_reason(tmp_path, org, data, expected):
    path = write(tmp_path, "broken.csv", data)

    status, out, reason = run(path, "--organization", org.slug, "--commit")
    json_status, json_out, _ = run(path, "--organization", org.slug, "--json")

    assert status == 1
    assert expected in reason
    assert "\n" not in reason
    assert "Traceback" not in out
    assert json_status == 1
    (problem,) = json.loads(json_out)["errors"]
    assert (problem["row"], problem["message"]) == (None, reason)
    assert Contact.objects.count() == 0


def test_unknown_organization_is_a_usage_error(tmp_path):
    path = valid_file(tmp_path, OrganizationFactory())

    status, _, reason = run(path, "--organization", "nope")

    assert (status, reason) == (2, import_contacts.UNKNOWN_ORGANIZATION.format(slug="nope"))


def test_missing_file_is_a_usage_error(tmp_path, org):
    missing = tmp_path / "missing.csv"

    status, _, reason = run(missing, "--organization", org.slug)

    assert (status, reason) == (2, import_contacts.FILE_NOT_FOUND.format(path=missing))


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param(("C-9", "bob@acme"), id="every row invalid"),
        pytest.param(("C-1", "a@b.example"), id="every row unchanged"),
    ],
)
def test_a_commit_that_would_write_nothing_is_refused_and_does_not_use_up_the_month(tmp_path, org, cells):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1", email="a@b.example", first_name="", last_name="")
    path = write(tmp_path, "c.csv", csv_bytes([contact_row(customer, *cells)]))

    status, _out, err = run(path, "--organization", org.slug, "--commit", "--skip-invalid")

    assert status == 1
    assert NOTHING_TO_WRITE in err
    assert not ImportBatch.objects.exists()


def test_by_records_the_importer_in_the_history_and_an_unknown_user_is_a_usage_error(tmp_path, org):
    customer = CustomerFactory(organization=org)
    agent = UserFactory(username="marie")
    path = write(tmp_path, "c.csv", csv_bytes([contact_row(customer, "C-1", "a@b.example")]))

    unknown, _out, err = run(path, "--organization", org.slug, "--commit", "--by", "nobody")
    status, _out, _err = run(path, "--organization", org.slug, "--commit", "--by", "marie")

    assert (unknown, status) == (2, 0)
    assert import_contacts.UNKNOWN_USER.format(username="nobody") in err
    assert ImportBatch.objects.get().user == agent


def test_a_dry_run_with_skip_invalid_says_to_run_again_with_both_options(tmp_path, org):
    customer = CustomerFactory(organization=org)
    rows = [contact_row(customer, "C-1", "a@b.example"), contact_row(customer, "C-2", "bob@acme")]
    path = write(tmp_path, "c.csv", csv_bytes(rows))

    status, out, _err = run(path, "--organization", org.slug, "--skip-invalid")

    assert status == 0
    assert "Run again with --commit --skip-invalid" in out
