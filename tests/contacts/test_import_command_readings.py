"""The command line says how each column was read when it was not by its header, and writes nothing read
by a guess unless told to."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contacts.importing.pipeline import GUESSES_UNCONFIRMED
from contacts.management.commands.import_contacts import GUESSES_HINT
from contacts.models import Contact
from tests.factories import CustomerFactory
from tests.helpers import MANDATORY_HEADERS, csv_bytes

pytestmark = pytest.mark.django_db

# "Mail" is a usual name of the email column (an alias), "Telephonne" a close spelling of one (a guess).
HEADERS = [*MANDATORY_HEADERS[:3], "Mail", "Telephonne"]


def run(*args) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command("import_contacts", *[str(a) for a in args], stdout=stdout, stderr=stderr)
    except CommandError as error:
        return error.returncode, stdout.getvalue(), f"{stderr.getvalue()}{error}"
    return 0, stdout.getvalue(), stderr.getvalue()


def guessed_file(tmp_path, org):
    customer = CustomerFactory(organization=org)
    path = tmp_path / "contacts.csv"
    row = [customer.name, customer.external_id, "K1", "anne@acme.com", "06 12 34 56 78"]
    path.write_bytes(csv_bytes([row], HEADERS))
    return path


def test_the_json_output_says_how_each_column_not_named_by_its_header_was_read(tmp_path, org):
    status, out, _ = run(guessed_file(tmp_path, org), "--organization", org.slug, "--json")

    assert status == 0
    assert json.loads(out)["columns"] == [
        {"column": "D", "header": "Mail", "field": "Contact's Email", "read_by": "alias"},
        {"column": "E", "header": "Telephonne", "field": "Contact's Telephone Number", "read_by": "guess"},
    ]


def test_the_dry_run_lists_the_guessed_column_and_the_option_its_commit_needs(tmp_path, org):
    status, out, _ = run(guessed_file(tmp_path, org), "--organization", org.slug)

    assert status == 0
    assert "Column E, 'Telephonne' → Contact's Telephone Number (read by a guess" in out
    assert "Column D, 'Mail' → Contact's Email (read by a usual name of the column)" in out
    assert "Run again with --commit --accept-guesses" in out


def test_a_commit_relying_on_a_guessed_column_is_refused_and_writes_nothing(tmp_path, org):
    status, _out, err = run(guessed_file(tmp_path, org), "--organization", org.slug, "--commit")

    assert status == 1
    columns = "'Telephonne' (E) → Contact's Telephone Number"
    assert str(GUESSES_UNCONFIRMED.format(columns=columns)) in err
    assert str(GUESSES_HINT) in err
    assert Contact.objects.count() == 0


def test_accept_guesses_writes_the_guessed_column(tmp_path, org):
    path = guessed_file(tmp_path, org)

    status, _out, _err = run(path, "--organization", org.slug, "--commit", "--accept-guesses")

    assert status == 0
    assert Contact.objects.get().phone == "+33612345678"


def test_a_column_the_saved_profile_names_is_said_to_be_read_by_the_profile(tmp_path, org):
    path = guessed_file(tmp_path, org)
    run(path, "--organization", org.slug, "--commit", "--accept-guesses", "--save-profile")
    Contact.objects.all().delete()

    status, out, _ = run(path, "--organization", org.slug, "--json")

    readings = {reading["header"]: reading["read_by"] for reading in json.loads(out)["columns"]}
    assert (status, readings) == (0, {"Mail": "profile", "Telephonne": "profile"})


def test_a_mapping_names_one_of_two_columns_with_one_header_by_its_letter(tmp_path, org):
    customer = CustomerFactory(organization=org)
    headers = [*MANDATORY_HEADERS, "Occupation", "Contact's Email"]
    path = tmp_path / "twice.csv"
    path.write_bytes(
        csv_bytes([[customer.name, customer.external_id, "K1", "old@b.fr", "", "new@b.fr"]], headers)
    )
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"columns": {"column:D": None, "column:F": "Contact's Email"}}))

    status, _out, _err = run(
        path, "--organization", org.slug, "--commit", "--mapping", mapping, "--save-profile"
    )
    written = Contact.objects.get().email
    Contact.objects.all().delete()
    again, out, _err = run(path, "--organization", org.slug, "--json")

    assert (status, written, again) == (0, "new@b.fr", 0)
    assert json.loads(out)["warnings"] == []  # the profile's letters fit the file: no repeated column
