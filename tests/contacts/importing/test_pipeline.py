import datetime
import hashlib

import pytest
from django.db import DatabaseError

from contacts import db_bulk
from contacts.importing import commit, interpretation, pipeline, reading
from contacts.importing.findings import ImportFailed, ImportRefused
from contacts.importing.mapping import Mapping
from contacts.importing.pipeline import commit_import, preview_import
from contacts.models import Contact, ContactChange, ImportBatch
from contacts.normalization import INVALID_EMAIL
from contacts.services import bulk
from contacts.services.contacts import CONTACTS_SYNCED
from contacts.services.planning import plan_rows
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import (
    FIXTURES,
    HEADERS,
    contact_row,
    csv_bytes,
    french_excel_csv,
    messy_workbook,
    workbook_bytes,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


def nothing_written() -> tuple[int, int, int]:
    return Contact.objects.count(), ImportBatch.objects.count(), ContactChange.objects.count()


@pytest.mark.parametrize(
    ("build", "name", "format"), [(csv_bytes, "c.csv", "csv"), (xlsx_bytes, "c.xlsx", "xlsx")]
)
def test_preview_counts_the_rows_and_writes_nothing(org, build, name, format):
    customer = CustomerFactory(organization=org)
    existing = ContactFactory(customer=customer, email="old@b.example")
    same = ContactFactory(customer=customer)
    data = build(
        [
            contact_row(customer, "NEW-1", "new@b.example"),
            contact_row(customer, existing.external_id, "changed@b.example", first_name=existing.first_name),
            contact_row(
                customer, same.external_id, same.email, first_name=same.first_name, last_name=same.last_name
            ),
            contact_row(customer, "NEW-2", "broken"),
        ]
    )

    report = preview_import(organization=org, data=data, filename=name)

    assert report.format == format
    assert report.totals == {"rows": 4, "new": 1, "updated": 1, "unchanged": 1, "invalid": 1}
    assert report.committed is False
    assert nothing_written() == (2, 0, 0)
    assert Contact.objects.get(pk=existing.pk).email == "old@b.example"


def test_error_label_uses_the_header_as_written_in_the_file(org):
    customer = CustomerFactory(organization=org)
    headers = [*HEADERS]
    headers[3] = "contact\u2019s email (mandatory)"
    data = csv_bytes(
        [contact_row(customer, "C-1", "a@b.example"), contact_row(customer, "C-2", "bob@acme")], headers
    )

    report = preview_import(organization=org, data=data, filename="c.csv")

    assert [report.label(p) for p in report.errors] == [
        'Row 3, "contact\u2019s email (mandatory)": ' + INVALID_EMAIL.format(value="bob@acme")
    ]


def test_french_headers_are_read(org):
    customer = CustomerFactory(organization=org)
    headers = ["Nom du client", "Code d'identification externe", "Identifiant du contact", "Email du contact"]
    data = csv_bytes([[customer.name, customer.external_id, "C-1", "a@b.example"]], headers)

    report = preview_import(organization=org, data=data, filename="c.csv")

    assert report.totals["new"] == 1
    assert report.errors == []


def test_missing_mandatory_column_is_a_file_error_naming_its_english_header(org):
    data = csv_bytes([["Acme", "AC-1", "C-1"]], HEADERS[:3])

    report = preview_import(organization=org, data=data, filename="c.csv")

    (problem,) = report.errors
    assert problem.row is None
    assert '"Contact\'s Email"' in problem.message


def test_file_without_data_rows_is_refused(org):
    report = preview_import(organization=org, data=csv_bytes([]), filename="c.csv")

    assert [p.message for p in report.errors] == [pipeline.NO_DATA_ROWS]


def test_random_bytes_are_refused_with_the_reading_message(org):
    data = bytes(range(256)) * 20

    report = preview_import(organization=org, data=data, filename="c.csv")

    (problem,) = report.errors
    assert problem.row is None
    with pytest.raises(reading.FileRejected) as caught:
        reading.read_table(data, filename="c.csv")
    assert problem.message == str(caught.value)


def test_unknown_columns_are_a_warning_listing_them(org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([[*contact_row(customer, "C-1", "a@b.example"), "x", "y"]], [*HEADERS, "Notes", "Fax"])

    report = preview_import(organization=org, data=data, filename="c.csv")

    assert [p.message for p in report.warnings] == [pipeline.UNKNOWN_COLUMNS.format(columns='"Notes", "Fax"')]
    assert report.totals["new"] == 1


def test_synced_organization_refuses_the_whole_file(synced_org):
    customer = CustomerFactory(organization=synced_org)
    data = csv_bytes([contact_row(customer, "C-1", "a@b.example")])
    message = CONTACTS_SYNCED.format(organization=synced_org.name)

    report = preview_import(organization=synced_org, data=data, filename="c.csv")
    with pytest.raises(ImportRefused) as caught:
        commit_import(organization=synced_org, data=data, filename="c.csv")

    assert [p.message for p in report.errors] == [message]
    assert str(caught.value) == message
    assert nothing_written() == (0, 0, 0)


def test_commit_writes_the_contacts_the_batch_and_the_changes(org, media_root):
    customer = CustomerFactory(organization=org)
    existing = ContactFactory(customer=customer, email="old@b.example", is_main=True)
    data = csv_bytes(
        [
            contact_row(customer, "NEW-1", "new@b.example", first_name="Nina", is_main="1"),
            contact_row(
                customer,
                existing.external_id,
                "changed@b.example",
                first_name=existing.first_name,
                last_name=existing.last_name,
            ),
        ]
    )

    report = commit_import(organization=org, data=data, filename="/tmp/clients.csv")

    batch = ImportBatch.objects.get()
    assert report.committed is True
    assert report.batch == batch
    assert (batch.status, batch.file_name, batch.format) == ("committed", "clients.csv", "csv")
    assert (batch.rows, batch.new, batch.updated, batch.unchanged, batch.invalid) == (2, 1, 1, 0, 0)
    assert batch.sha256 == hashlib.sha256(data).hexdigest()
    assert batch.file.name.startswith("contact-imports/")
    assert (media_root / batch.file.name).read_bytes() == data
    new = Contact.objects.get(external_id="NEW-1")
    existing.refresh_from_db()
    assert (new.source, new.is_main, existing.source, existing.is_main) == ("import", True, "import", False)
    changes = {(c.external_id, c.action, c.contact_id): (c.before, c.after) for c in batch.changes.all()}
    assert changes == {
        ("NEW-1", "created", new.pk): (
            None,
            {
                "external_id": "NEW-1",
                "email": "new@b.example",
                "first_name": "Nina",
                "last_name": "",
                "phone": "",
                "occupation": "",
                "is_main": True,
                "source": "import",
            },
        ),
        (existing.external_id, "updated", existing.pk): (
            {"email": "old@b.example", "is_main": True, "source": "manual"},
            {"email": existing.email, "is_main": False, "source": "import"},
        ),
    }
    assert {c.channel for c in batch.changes.all()} == {"import"}


def test_commit_records_the_main_contact_demoted_outside_the_file(org):
    customer = CustomerFactory(organization=org)
    current = ContactFactory(customer=customer, is_main=True)
    data = csv_bytes([contact_row(customer, "NEW-1", "new@b.example", is_main="yes")])

    report = commit_import(organization=org, data=data, filename="c.csv")

    current.refresh_from_db()
    assert current.is_main is False
    change = report.batch.changes.get(contact=current)
    assert (change.action, change.before, change.after) == (
        "demoted",
        {"is_main": True, "source": "manual"},
        {"is_main": False, "source": "import"},
    )
    assert current.source == "import"


def test_strict_commit_with_an_invalid_row_writes_nothing(org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([contact_row(customer, "C-1", "a@b.example"), contact_row(customer, "C-2", "broken")])

    with pytest.raises(ImportRefused) as caught:
        commit_import(organization=org, data=data, filename="c.csv")

    assert str(caught.value) == bulk.INVALID_ROWS.format(count=1)
    assert caught.value.report.totals["invalid"] == 1
    assert nothing_written() == (0, 0, 0)


def test_skip_invalid_writes_the_valid_rows_and_records_the_errors(org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([contact_row(customer, "C-1", "a@b.example"), contact_row(customer, "C-2", "broken")])

    report = commit_import(organization=org, data=data, filename="c.csv", skip_invalid=True)

    assert list(Contact.objects.values_list("external_id", flat=True)) == ["C-1"]
    assert (report.batch.skip_invalid, report.batch.invalid, report.batch.new) == (True, 1, 1)
    assert report.batch.errors == [
        {"row": 3, "column": "Contact's Email", "message": INVALID_EMAIL.format(value="broken")}
    ]


def test_a_database_failure_mid_way_rolls_back_and_records_a_failed_batch(org, monkeypatch):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([contact_row(customer, f"C-{n}", f"p{n}@b.example") for n in range(3)])
    original = db_bulk.insert_rows
    calls = []

    def failing_second_call(model, *args, **kwargs):
        calls.append(model)
        if len(calls) == 2:  # the contacts are inserted; the change rows fail
            raise DatabaseError("disk I/O error")
        return original(model, *args, **kwargs)

    monkeypatch.setattr(db_bulk, "insert_rows", failing_second_call)

    with pytest.raises(ImportFailed) as caught:
        commit_import(organization=org, data=data, filename="c.csv")

    assert calls == [Contact, ContactChange]
    assert str(caught.value) == commit.COMMIT_FAILED.format(reason="disk I/O error")
    assert Contact.objects.count() == 0
    assert ContactChange.objects.count() == 0
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.failure_reason, batch.rows) == ("failed", "disk I/O error", 3)
    assert caught.value.report.batch == batch


def test_to_json_has_the_command_shape(org):
    customer = CustomerFactory(organization=org, name="Acme")
    data = csv_bytes(
        [
            contact_row(customer, "C-1", "a@b.example", customer_name="Acme Inc"),
            contact_row(customer, "C-2", "bob@acme"),
        ]
    )

    report = preview_import(organization=org, data=data, filename="dir/c.csv")

    assert report.to_json() == {
        "organization": org.slug,
        "file": "c.csv",
        "committed": False,
        "batch": None,
        "totals": {"rows": 2, "new": 1, "updated": 0, "unchanged": 0, "invalid": 1},
        "columns": [],
        "errors": [
            {"row": 3, "column": "Contact's Email", "message": INVALID_EMAIL.format(value="bob@acme")}
        ],
        "warnings": [{"row": 2, "message": '"Customer name": ' + report.plan.warnings[0].message}],
    }


# Client files as they really come (issue 9)


def test_a_messy_french_workbook_previews_with_excels_row_numbers_and_no_errors(org):
    customer = CustomerFactory(organization=org, name="Boulangerie Martin", external_id="AC-1001")
    data = messy_workbook(
        [
            contact_row(
                customer,
                "CT-1",
                "lea@boulangerie.example",
                phone="06 12 34 56 78",
                occupation="Comptabilité",
                is_main="VRAI",
            ),
            contact_row(
                customer, "CT-2", "paul@boulangerie.example", occupation="commerciale", is_main="faux"
            ),
        ]
    )

    report = preview_import(organization=org, data=data, filename="contacts.xlsx")

    assert report.errors == []
    assert report.totals == {"rows": 2, "new": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    assert [(o.row, o.values["occupation"], o.values["is_main"]) for o in report.plan.outcomes] == [
        (4, "ACCOUNTING", True),
        (5, "SALES", False),
    ]
    assert [p.message for p in report.warnings] == [
        interpretation.SHEETS_SKIPPED.format(rows=20, sheets='"Mode d\'emploi"'),
        interpretation.FOOTER_ROWS.format(rows="row 6", texts='"TOTAL : 2 contacts"'),
    ]
    assert report.reading.reasons == []
    assert report.reading.summary == (
        "Read as found (header on row 3 of sheet Contacts; 'Société' → customer name; 'Code client' → "
        "customer external id; 'Référence contact' → contact id; 'Mail' → email; 'Prénom' → first name; "
        "'Nom' → last name; 'Tél.' → phone; 'Principal' → main contact)"
    )


def test_a_french_excel_csv_with_a_title_line_previews(org):
    customer = CustomerFactory(organization=org, name="Société Générale", external_id="SG-1")
    data = french_excel_csv(
        [
            contact_row(
                customer,
                "K-1",
                "zoe@sg.example",
                last_name="O\u2019Brien",
                first_name="Zoé",
                occupation="Achats",
                is_main="oui",
            )
        ]
    )
    assert b";" in data.splitlines()[0]

    report = preview_import(organization=org, data=data, filename="export.csv")

    assert report.errors == []
    (outcome,) = report.plan.outcomes
    assert (outcome.row, outcome.values["first_name"], outcome.values["occupation"]) == (
        3,
        "Zoé",
        "PURCHASER",
    )


def test_an_old_xls_with_blank_rows_above_its_headers_previews(org):
    CustomerFactory(organization=org, name="Garage du Centre", external_id="C-204")
    data = (FIXTURES / "client-blank-rows.xls").read_bytes()

    report = preview_import(organization=org, data=data, filename="contacts.xls")

    assert report.errors == []
    assert [(o.row, o.values["occupation"], o.values["is_main"]) for o in report.plan.outcomes] == [
        (5, "ACCOUNTING", True),
        (6, "PURCHASER", False),
    ]


def test_a_header_row_lacking_a_mandatory_column_names_the_sheet_the_row_and_the_columns(org):
    data = workbook_bytes(
        {
            "Notes": [["x"]],
            "Contacts": [["Liste"], ["Société", "Référence", "Adresse"], ["A", "K1", "a@b.fr"]],
        }
    )

    report = preview_import(organization=org, data=data, filename="c.xlsx")

    message = interpretation.MISSING_COLUMNS_IN_SHEET.format(
        row=2, sheet="Contacts", columns='"External identification code", "Contact\'s Email"'
    )
    assert [p.message for p in report.file_errors] == [message]
    assert report.reading.reasons == [message]
    assert report.plan is None


def test_unknown_occupation_values_ask_for_a_meaning_which_a_mapping_gives(org):
    customer = CustomerFactory(organization=org)
    rows = [
        contact_row(customer, f"C-{n}", f"p{n}@b.example", occupation=value)
        for n, value in enumerate(["Direction financière", "DAF", "Direction financière", "Comptable"])
    ]
    data = csv_bytes(rows)

    found = preview_import(organization=org, data=data, filename="c.csv")
    mapping = Mapping(values={"occupation": {"direction financiere": "ACCOUNTING", "DAF": "PAYER"}})
    mapped = preview_import(organization=org, data=data, filename="c.csv", mapping=mapping)

    assert found.reading.unknown_values == {"occupation": {"Direction financière": 2, "DAF": 1}}
    assert found.reading.reasons == [
        interpretation.UNKNOWN_VALUES.format(column="Occupation", values='"Direction financière", "DAF"')
    ]
    assert found.totals["invalid"] == 3  # the command line without a mapping: one error per row, as before
    assert mapped.errors == []
    assert mapped.reading.reasons == []
    assert [o.values["occupation"] for o in mapped.plan.outcomes] == [
        "ACCOUNTING",
        "PAYER",
        "ACCOUNTING",
        "ACCOUNTING",
    ]


def test_a_mapping_names_the_header_row_and_the_columns(org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes(
        [["Nom", "Code", "Ref", "Adresse", "SIRET"], [*contact_row(customer, "C-1", "a@b.example")[:4], "1"]],
        headers=None,
    )
    mapping = Mapping(
        header_row=1,
        columns={
            "Nom": "customer_name",
            "Code": "customer_external_id",
            "Ref": "external_id",
            "Adresse": "email",
            "SIRET": None,
        },
    )

    report = preview_import(organization=org, data=data, filename="c.csv", mapping=mapping)

    assert report.errors == report.warnings == []
    assert report.totals["new"] == 1
    assert report.reading.summary == (
        "Read with the mapping chosen (header on row 1; 'Nom' → customer name; 'Code' → customer external "
        "id; 'Ref' → contact id; 'Adresse' → email; 'SIRET' → ignored)"
    )


def test_an_excel_date_in_the_identifier_column_reaches_the_rows_dates(org, monkeypatch):
    customer = CustomerFactory(organization=org)
    given = []
    monkeypatch.setattr(
        pipeline, "plan_rows", lambda **kwargs: given.extend(kwargs["rows"]) or plan_rows(**kwargs)
    )
    data = xlsx_bytes(
        [
            [customer.name, customer.external_id, datetime.date(2024, 12, 3), "a@b.example"],
            [customer.name, customer.external_id, "C-2", "b@b.example", datetime.date(2024, 1, 1)],
        ],
        headers=[*HEADERS[:4], "Since"],
    )

    preview_import(organization=org, data=data, filename="c.xlsx")

    assert [(row.row, row.values["external_id"], row.dates) for row in given] == [
        (2, "2024-12-03", frozenset({"external_id"})),
        (3, "C-2", frozenset()),
    ]
