import io
import json

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contacts.importing import limits, pipeline, reading, reports
from contacts.importing.commit import NOTHING_TO_WRITE
from contacts.importing.interpretation import MISSING_COLUMNS_IN_SHEET
from contacts.importing.mapping import BAD_HEADER_ROW
from contacts.management.commands import import_contacts
from contacts.models import Contact, ImportBatch, ImportProfile
from contacts.normalization import INVALID_EMAIL
from contacts.services.contacts import CONTACTS_SYNCED
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import contact_row, csv_bytes, workbook_bytes, xlsx_bytes

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
        "columns": [],
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
    assert str(expected) in reason
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
    assert str(NOTHING_TO_WRITE) in err
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


# Client files: --mapping, --save-profile, the saved profile


MAIL_HEADERS = ["Société", "Code client", "Référence contact", "Mail", "Fonction"]


def renamed_file(tmp_path, customer, *, month: int = 1, occupation: str = "Direction financière"):
    rows = [
        ["Contacts Acme"],
        [],
        MAIL_HEADERS,
        [customer.name, customer.external_id, f"C-{month}", f"c{month}@b.example", occupation],
        ["TOTAL : 1 contact"],
    ]
    return write(
        tmp_path, f"acme-{month}.xlsx", workbook_bytes({"Mode d'emploi": [["Lisez-moi"]], "Contacts": rows})
    )


def mapping_file(tmp_path, mapping: object, name: str = "mapping.json"):
    return write(tmp_path, name, json.dumps(mapping).encode())


def test_the_issues_mapping_file_reads_a_renamed_file(tmp_path, org):
    customer = CustomerFactory(organization=org)
    mapping = mapping_file(
        tmp_path,
        {
            "sheet": "Contacts",
            "header_row": 3,
            "columns": {"Mail": "Contact's Email", "Fonction": "Occupation", "SIRET": None},
            "values": {"Occupation": {"Direction financière": "ACCOUNTING"}},
        },
    )

    status, out, _ = run(
        renamed_file(tmp_path, customer), "--organization", org.slug, "--mapping", mapping, "--commit"
    )

    assert status == 0
    assert Contact.objects.get().occupation == "ACCOUNTING"
    assert "  Read with the mapping chosen (header on row 3 of sheet Contacts; " in out
    assert ImportProfile.objects.count() == 0  # kept only with --save-profile


def test_save_profile_keeps_the_reading_for_the_next_file_read_without_a_mapping(tmp_path, org):
    customer = CustomerFactory(organization=org)
    mapping = mapping_file(tmp_path, {"values": {"Occupation": {"Direction financière": "ACCOUNTING"}}})

    first = run(
        renamed_file(tmp_path, customer),
        "--organization",
        org.slug,
        "--mapping",
        mapping,
        "--commit",
        "--save-profile",
    )
    dry, out, _ = run(renamed_file(tmp_path, customer, month=2), "--organization", org.slug)

    assert first[0] == 0
    assert import_contacts.PROFILE_SAVED.format(organization=org.name) in first[1]
    assert ImportProfile.objects.get(organization=org).header_row == 3
    assert dry == 0
    assert f"  Read with {org.name}'s saved profile (header on row 3 of sheet Contacts; " in out
    assert "'Direction financière' → ACCOUNTING)" in out


def test_save_profile_on_a_dry_run_saves_nothing_and_says_so(tmp_path, org):
    customer = CustomerFactory(organization=org)

    status, out, _ = run(
        renamed_file(tmp_path, customer, occupation="Comptable"), "--organization", org.slug, "--save-profile"
    )

    assert status == 0
    assert str(import_contacts.PROFILE_NOT_SAVED) in out
    assert ImportProfile.objects.count() == 0


def test_without_a_mapping_a_missing_mandatory_column_names_the_sheet_the_header_row_and_the_columns(
    tmp_path, org
):
    data = workbook_bytes(
        {"Contacts": [["Liste"], ["Société", "Référence", "Adresse"], ["Acme", "K1", "a@b.fr"]]}
    )
    path = write(tmp_path, "c.xlsx", data)
    stderr = io.StringIO()

    with pytest.raises(CommandError) as refused:
        call_command(
            "import_contacts", str(path), "--organization", org.slug, stderr=stderr, stdout=io.StringIO()
        )

    assert (refused.value.returncode, str(refused.value)) == (
        1,
        MISSING_COLUMNS_IN_SHEET.format(
            row=2, sheet="Contacts", columns='"External identification code", "Contact\'s Email"'
        ),
    )
    assert stderr.getvalue() == f"{import_contacts.MAPPING_HINT}\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{", "is not JSON"),
        (b'{"header_row": 40}', str(BAD_HEADER_ROW.format(limit=20))),
        (b'{"columns": {"Mail": "Fax"}}', 'reads "Mail" as "Fax", which is not a column of the import'),
    ],
)
def test_a_mapping_file_that_cannot_be_used_is_a_usage_error(tmp_path, org, content, expected):
    path = valid_file(tmp_path, org)
    mapping = write(tmp_path, "mapping.json", content)

    status, _out, reason = run(path, "--organization", org.slug, "--mapping", mapping)

    assert status == 2
    assert expected in reason
    assert reason.startswith(f"The mapping {mapping}")
    assert Contact.objects.count() == 0


def test_a_missing_mapping_file_is_a_usage_error(tmp_path, org):
    status, _out, reason = run(
        valid_file(tmp_path, org), "--organization", org.slug, "--mapping", tmp_path / "no.json"
    )

    assert status == 2
    assert reason.startswith(f"Cannot read the mapping {tmp_path / 'no.json'}: ")


def test_on_a_terminal_a_commit_draws_a_progress_bar_per_stage_and_still_runs_in_the_foreground(
    tmp_path, org, monkeypatch
):
    path = valid_file(tmp_path, org)
    monkeypatch.setattr(import_contacts.sys.stderr, "isatty", lambda: True, raising=False)
    err = io.StringIO()

    options = ["--organization", org.slug, "--commit"]
    call_command("import_contacts", str(path), *options, stdout=io.StringIO(), stderr=err)

    lines = [line.rsplit("\r", 1)[-1] for line in err.getvalue().split("\n") if line]
    stages = [line.split("] ", 1)[1].split(" [")[0] for line in lines]
    assert stages == ["Reading the file", "Checking the rows", "Writing the contacts and their history"]
    assert lines[-1].endswith("[##############################] 1 of 1 rows")
    assert ImportBatch.objects.get().status == "committed"  # done when the command returns


# --- --blank-clears and --error-report ----------------------------------------------------------------


def stored_with_name(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(
        customer=customer, external_id="C-1", email="a@b.example", first_name="Ann", last_name="Lee"
    )
    return customer


def test_blank_cells_keep_stored_values_unless_blank_clears_is_given(tmp_path, org, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 2
    customer = stored_with_name(org)
    path = write(
        tmp_path, "c.csv", csv_bytes([contact_row(customer, "C-1", "a@b.example", last_name="Roux")])
    )

    run(path, "--organization", org.slug, "--commit")
    kept = Contact.objects.values_list("first_name", "last_name").get()
    run(
        write(tmp_path, "d.csv", csv_bytes([contact_row(customer, "C-1", "a@b.example", last_name="Rey")])),
        "--organization",
        org.slug,
        "--commit",
        "--blank-clears",
    )
    cleared = Contact.objects.values_list("first_name", "last_name").get()

    assert (kept, cleared) == (("Ann", "Roux"), ("", "Rey"))
    assert list(ImportBatch.objects.order_by("created_at").values_list("blank_cells_clear", flat=True)) == [
        False,
        True,
    ]


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_error_report_writes_the_admins_report_in_the_format_of_its_extension(tmp_path, org, extension):
    customer = CustomerFactory(organization=org)
    rows = [
        contact_row(customer, "C-1", "a@b.example"),
        contact_row(customer, "C-2", "bob@acme", phone="+33 6"),
    ]
    path = write(tmp_path, "c.csv", csv_bytes(rows, delimiter=";", encoding="cp1252"))
    target = tmp_path / f"errors.{extension}"

    status, out, _ = run(path, "--organization", org.slug, "--error-report", target)

    expected = reports.import_error_report(
        pipeline.preview_import(organization=org, data=path.read_bytes(), filename="c.csv"),
        path.read_bytes(),
        format=extension,
    )
    assert status == 1
    assert import_contacts.REPORT_WRITTEN.format(path=target) in out
    if extension == "csv":
        assert target.read_bytes() == expected
        assert target.read_bytes().decode("cp1252").splitlines()[1].startswith(f"{customer.name};")
    else:
        sheet = openpyxl.load_workbook(target).active
        assert [cell.value for cell in sheet[2]][:4] == rows[1][:4]


def test_error_report_of_a_valid_file_writes_nothing_and_says_so(tmp_path, org):
    target = tmp_path / "errors.csv"

    status, out, _ = run(valid_file(tmp_path, org), "--organization", org.slug, "--error-report", target)

    assert status == 0
    assert str(import_contacts.NO_REPORT) in out
    assert not target.exists()


def test_error_report_with_another_extension_is_a_usage_error_before_any_work(tmp_path, org):
    status, _, error = run(
        valid_file(tmp_path, org),
        "--organization",
        org.slug,
        "--commit",
        "--error-report",
        tmp_path / "errors.txt",
    )

    assert status == 2
    assert ".csv or .xlsx" in error
    assert Contact.objects.count() == 0


def test_the_json_names_the_error_report_written(tmp_path, org):
    customer = CustomerFactory(organization=org)
    path = write(tmp_path, "c.csv", csv_bytes([contact_row(customer, "C-1", "nope")]))
    target = tmp_path / "errors.xlsx"

    _, out, _ = run(path, "--organization", org.slug, "--json", "--error-report", target)

    assert json.loads(out)["error_report"] == str(target)
    assert target.exists()


def test_a_file_imported_before_is_named_in_the_summary(tmp_path, org):
    path = valid_file(tmp_path, org)
    run(path, "--organization", org.slug, "--commit")
    batch = ImportBatch.objects.get()

    _, out, _ = run(path, "--organization", org.slug)

    assert f"(import batch #{batch.pk})" in out
    assert "This file was already imported for" in out
