"""The spreadsheet import in the admin: upload, preview, confirm, downloads, permissions."""

import csv
import io
import re
from datetime import timedelta

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.admin.import_preview import PAGE_SIZE
from contacts.admin.imports import IMPORTED, NO_ORGANIZATION, PREVIEW_EXPIRED
from contacts.importing.limits import MONTHLY_LIMIT_REACHED
from contacts.importing.pipeline import NO_DATA_ROWS, commit_import
from contacts.importing.reading import DAMAGED, EMPTY, NOT_SPREADSHEET, PDF, TOO_BIG
from contacts.importing.reports import ERROR_COLUMN
from contacts.management.commands.seed_demo import SUPPORT_GROUP
from contacts.models import Contact, ContactChange, ImportBatch, ImportUpload
from contacts.services.bulk import INVALID_ROWS
from contacts.services.contacts import CONTACTS_SYNCED
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import (
    CONFIRM,
    HEADERS,
    MAPPING,
    PREVIEW,
    UPLOAD,
    committed_batch,
    contact_row,
    csv_bytes,
    messages_of,
    one_valid_one_invalid,
    staff_client,
    stored_previews,
    upload,
    uploaded,
    uploaded_file,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contacts_contact_changelist")
HISTORY = reverse("admin:contacts_importbatch_changelist")


def two_rows(customer) -> bytes:
    return csv_bytes(
        [
            contact_row(customer, "C-1", "ann@client.example", first_name="Ann", is_main="1"),
            contact_row(customer, "C-2", "bob@client.example", first_name="Bob", occupation="sales"),
        ]
    )


# --- The button and the upload form ---------------------------------------------------------------


def test_import_button_is_on_the_contact_list_only_for_staff_allowed_to_import(importer):
    viewer = staff_client("view_contact")

    assert UPLOAD.encode() in importer.get(CHANGELIST).content
    assert UPLOAD.encode() not in viewer.get(CHANGELIST).content


def test_upload_form_offers_only_organizations_disconnected_from_the_sync(importer):
    managed = OrganizationFactory(name="Managed Org")
    OrganizationFactory(name="Synced Org", synced=True)

    response = importer.get(UPLOAD)

    assert response.status_code == 200
    choices = [choice for _value, choice in response.context["form"].fields["organization"].choices]
    assert choices == ["---------", "Managed Org"]
    assert f'value="{managed.pk}"'.encode() in response.content
    assert b"Synced Org" not in response.content


def test_the_file_picker_offers_every_format_the_import_reads(importer):
    OrganizationFactory()

    content = importer.get(UPLOAD).content.decode()

    assert 'accept=".csv,.xlsx,.xls,.ods"' in content


def test_upload_form_says_so_when_no_organization_is_disconnected(importer):
    OrganizationFactory(synced=True)

    response = importer.get(UPLOAD)

    assert str(NO_ORGANIZATION) in response.content.decode()


def test_posting_an_organization_still_synced_is_refused_and_nothing_is_kept(
    importer, synced_org, media_root
):
    customer = CustomerFactory(organization=synced_org)

    response = upload(importer, synced_org, two_rows(customer))

    assert response.status_code == 200
    assert response.context["form"].errors["organization"]
    assert stored_previews(media_root) == []
    assert Contact.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused_before_the_preview(importer, org, settings, media_root):
    settings.CONTACT_IMPORT_MAX_BYTES = 100
    customer = CustomerFactory(organization=org)

    response = upload(importer, org, two_rows(customer))

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [TOO_BIG.format(limit=f"{100 / 1024 / 1024:g}")]
    assert stored_previews(media_root) == []


# --- Preview and confirm --------------------------------------------------------------------------


def test_csv_upload_preview_and_confirm_create_the_contacts(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, two_rows(customer), "clients.csv")

    preview = importer.get(PREVIEW, key)

    assert preview.status_code == 200
    assert preview.context["report"].totals == {
        "rows": 2,
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "invalid": 0,
    }
    content = preview.content.decode()
    assert "ann@client.example" in content
    assert "bob@client.example" in content
    assert 'id="confirm-import"' in content
    assert Contact.objects.count() == 0

    response = importer.post(CONFIRM, key)

    assert response.status_code == 302
    contacts = {c.external_id: c for c in Contact.objects.filter(organization=org)}
    assert set(contacts) == {"C-1", "C-2"}
    assert contacts["C-1"].is_main is True
    assert contacts["C-2"].occupation == "SALES"
    assert {c.source for c in contacts.values()} == {Contact.Source.IMPORT}
    batch = ImportBatch.objects.get()
    assert (batch.organization, batch.user, batch.file_name, batch.new) == (
        org,
        importer.user,
        "clients.csv",
        2,
    )
    # The agent lands on the import's page.
    assert response["Location"] == reverse("admin:contacts_importbatch_change", args=[batch.pk])
    assert messages_of(response) == [
        IMPORTED % {"file": "clients.csv", "new": 2, "updated": 0, "unchanged": 0, "skipped": ""}
    ]


def test_xlsx_upload_preview_shows_old_and_new_values_and_confirm_updates(importer, org):
    customer = CustomerFactory(organization=org)
    ContactFactory(
        customer=customer, external_id="C-1", email="ann@client.example", first_name="Ann", phone=""
    )
    data = xlsx_bytes(
        [
            contact_row(customer, "C-1", "ann@client.example", first_name="Annie", phone=33612345678),
            contact_row(customer, "C-2", "bob@client.example"),
        ]
    )
    key = uploaded(importer, org, data, "clients.xlsx")

    preview = importer.get(PREVIEW, key)

    assert preview.context["report"].totals == {
        "rows": 2,
        "new": 1,
        "updated": 1,
        "unchanged": 0,
        "invalid": 0,
    }
    [update] = preview.context["sections"]["updated"]["rows"]
    assert ("Contact's First Name", "Ann", "Annie") in update["changes"]
    assert ("Contact's Telephone Number", "", "+33612345678") in update["changes"]
    assert "<del>Ann</del> → <ins>Annie</ins>" in preview.content.decode()
    assert Contact.objects.get(external_id="C-1").first_name == "Ann"

    importer.post(CONFIRM, key)

    updated = Contact.objects.get(external_id="C-1")
    assert (updated.first_name, updated.phone) == ("Annie", "+33612345678")
    assert Contact.objects.filter(external_id="C-2", customer=customer).exists()
    assert ImportBatch.objects.get().format == "xlsx"


def test_preview_and_its_error_report_write_nothing(importer, org, media_root):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1", email="ann@client.example", first_name="Old")
    key = uploaded(importer, org, one_valid_one_invalid(customer))

    importer.get(PREVIEW, key)
    importer.get(reverse("admin:contacts_contact_import_error_report", args=["csv"]), key)
    importer.get(reverse("admin:contacts_contact_import_error_report", args=["xlsx"]), key)

    assert Contact.objects.get().first_name == "Old"
    assert ImportBatch.objects.count() == 0
    assert ContactChange.objects.count() == 0
    assert len(stored_previews(media_root)) == 1


def test_invalid_rows_disable_confirm_and_the_server_refuses_without_skip(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, one_valid_one_invalid(customer))

    preview = importer.get(PREVIEW, key)

    content = preview.content.decode()
    assert re.search(r'<input[^>]*id="confirm-import"[^>]*disabled', content)
    assert 'name="skip_invalid"' in content
    [(row, column, _message)] = preview.context["sections"]["errors"]["rows"]
    assert (row, column) == (3, "Contact's Email")

    response = importer.post(CONFIRM, key)  # a forged post: the button was disabled

    assert response.status_code == 302
    assert response["Location"].startswith(PREVIEW)
    assert INVALID_ROWS.format(count=1) in messages_of(response)
    assert Contact.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_the_preview_colours_its_totals_only_when_they_are_not_zero(importer, org):
    customer = CustomerFactory(organization=org)
    clean = importer.get(PREVIEW, uploaded(importer, org, two_rows(customer))).content.decode()
    broken = importer.get(PREVIEW, uploaded(importer, org, one_valid_one_invalid(customer))).content.decode()

    assert '<li class="invalid">' in clean
    assert '<li class="new nonzero">' in clean
    assert '<li class="invalid nonzero">' in broken


def test_skip_invalid_rows_writes_the_valid_rows_only(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, one_valid_one_invalid(customer))

    response = importer.post(CONFIRM, {**key, "skip_invalid": "on"})

    assert response.status_code == 302
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["C-1"]
    batch = ImportBatch.objects.get()
    assert (batch.new, batch.invalid, batch.skip_invalid) == (1, 1, True)
    assert messages_of(response)[0].endswith(", 1 invalid row skipped.")


def test_a_missing_mandatory_column_sends_the_preview_to_the_mapping_step_and_cannot_be_confirmed(
    importer, org
):
    data = csv_bytes([["Acme", "C-1"]], headers=["Customer name", "Contact's Email"])
    key = uploaded(importer, org, data)

    preview = importer.get(PREVIEW, key)
    mapping = importer.get(preview["Location"])

    assert preview["Location"].startswith(MAPPING)
    assert "External identification code" in mapping.context["reasons"][0]
    assert importer.post(CONFIRM, {**key, "skip_invalid": "on"}).status_code == 302
    assert Contact.objects.count() == 0


def test_monthly_limit_refusal_is_shown_on_the_page_and_nothing_is_written(importer, org, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 1
    customer = CustomerFactory(organization=org)
    commit_import(
        organization=org,
        data=csv_bytes([contact_row(customer, "C-0", "zed@client.example")]),
        filename="a.csv",
    )
    key = uploaded(importer, org, two_rows(customer))

    preview = importer.get(PREVIEW, key)
    assert 'id="limit-notice"' in preview.content.decode()
    assert 'name="override_reason"' not in preview.content.decode()
    assert 'id="confirm-import"' not in preview.content.decode()  # the server would refuse it anyway

    response = importer.post(CONFIRM, {**key, "override_reason": "client asked twice"}, follow=True)

    expected = MONTHLY_LIMIT_REACHED.format(organization=org.name, count=1, limit=1)
    assert expected in [str(m) for m in response.context["messages"]]
    assert expected in response.content.decode()
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["C-0"]
    assert ImportBatch.objects.count() == 1


def test_a_user_allowed_to_override_the_limit_imports_with_a_recorded_reason(supervisor, org, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 1
    customer = CustomerFactory(organization=org)
    commit_import(
        organization=org,
        data=csv_bytes([contact_row(customer, "C-0", "zed@client.example")]),
        filename="a.csv",
    )
    key = uploaded(supervisor, org, two_rows(customer))
    assert 'name="override_reason"' in supervisor.get(PREVIEW, key).content.decode()

    supervisor.post(CONFIRM, {**key, "override_reason": "Client resent a corrected file"})

    batch = ImportBatch.objects.latest("created_at")
    assert (batch.override_reason, batch.user, batch.new) == (
        "Client resent a corrected file",
        supervisor.user,
        2,
    )
    assert Contact.objects.filter(organization=org).count() == 3
    history = supervisor.get(HISTORY)
    assert "Client resent a corrected file" in history.content.decode()


def test_override_without_a_reason_is_still_refused(supervisor, org, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 1
    customer = CustomerFactory(organization=org)
    commit_import(
        organization=org,
        data=csv_bytes([contact_row(customer, "C-0", "zed@client.example")]),
        filename="a.csv",
    )
    key = uploaded(supervisor, org, two_rows(customer))

    response = supervisor.post(CONFIRM, {**key, "override_reason": "   "})

    assert MONTHLY_LIMIT_REACHED.format(organization=org.name, count=1, limit=1) in messages_of(response)
    assert Contact.objects.filter(organization=org).count() == 1


def test_an_organization_synced_after_the_preview_is_refused_at_confirm(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, two_rows(customer))
    type(org).objects.filter(pk=org.pk).update(contacts_source="invoicing", contacts_disconnected_at=None)

    response = importer.post(CONFIRM, key)

    assert CONTACTS_SYNCED.format(organization=org.name) in messages_of(response)
    assert Contact.objects.count() == 0


def test_confirm_removes_the_kept_upload(importer, org, media_root):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, two_rows(customer))
    assert len(stored_previews(media_root)) == 1

    importer.post(CONFIRM, key)

    assert stored_previews(media_root) == []
    assert importer.get(PREVIEW, key).status_code == 302  # expired: back to the upload form


# --- The kept upload cannot be swapped -------------------------------------------------------------


@pytest.mark.parametrize(
    "tampered",
    [
        {"file": "../../contacts_site/settings.py"},
        {"file": "/etc/passwd"},
        {"file": "0" * 32},  # well-formed, but not an upload of this user
        {"sha256": "0" * 64},
        {"sha256": "not-a-hash"},
    ],
)
def test_a_tampered_preview_key_is_refused(importer, org, tampered):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, two_rows(customer))

    preview = importer.get(PREVIEW, {**key, **tampered})
    confirm = importer.post(CONFIRM, {**key, **tampered})

    for response in (preview, confirm):
        assert response.status_code == 302
        assert response["Location"] == UPLOAD
        assert PREVIEW_EXPIRED in messages_of(response)
    assert Contact.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_another_organization_cannot_be_confirmed_with_a_preview_key(importer, org):
    other = OrganizationFactory()
    customer = CustomerFactory(organization=org)
    CustomerFactory(organization=other, external_id=customer.external_id, name=customer.name)
    key = uploaded(importer, org, two_rows(customer))

    response = importer.post(CONFIRM, {**key, "organization": other.pk})

    assert PREVIEW_EXPIRED in messages_of(response)
    assert Contact.objects.count() == 0


def test_another_users_upload_cannot_be_previewed_or_confirmed(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, two_rows(customer))
    intruder = staff_client("import_contacts")

    assert intruder.get(PREVIEW, key)["Location"] == UPLOAD
    assert intruder.post(CONFIRM, key)["Location"] == UPLOAD
    assert Contact.objects.count() == 0


def test_a_file_changed_in_storage_after_the_preview_is_refused(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, two_rows(customer))
    ImportUpload.objects.filter(token=key["file"]).update(data=one_valid_one_invalid(customer))

    response = importer.post(CONFIRM, {**key, "skip_invalid": "on"})

    assert PREVIEW_EXPIRED in messages_of(response)
    assert Contact.objects.count() == 0


# --- Large files ------------------------------------------------------------------------------------


def test_a_large_file_previews_with_a_bounded_number_of_table_rows(importer, org):
    customers = CustomerFactory.create_batch(20, organization=org)
    existing = [
        ContactFactory(customer=customers[i % 20], external_id=f"OLD-{i}", email=f"old{i}@client.example")
        for i in range(200)
    ]
    rows = [contact_row(customers[i % 20], f"NEW-{i}", f"new{i}@client.example") for i in range(3000)]
    rows += [contact_row(c.customer, c.external_id, c.email, first_name="Renamed") for c in existing]
    rows += [contact_row(customers[0], f"BAD-{i}", "nope") for i in range(300)]

    response = importer.get(PREVIEW, uploaded(importer, org, csv_bytes(rows)))

    report = response.context["report"]
    assert report.totals == {"rows": 3500, "new": 3000, "updated": 200, "unchanged": 0, "invalid": 300}
    content = response.content.decode()
    preview = content[content.index('class="import-preview"') :]
    # A header row and one page of each table (errors, new, updated); the admin's sidebar has a few more.
    assert preview.count("<tr") == 3 * (PAGE_SIZE + 1)
    assert content.count("<tr") < 4 * (PAGE_SIZE + 1)
    assert "new_page=2" in content
    assert "updated_page=2" in content
    assert "errors_page=2" in content


def test_preview_pages_through_each_kind_independently(importer, org):
    customer = CustomerFactory(organization=org)
    rows = [contact_row(customer, f"NEW-{i}", f"new{i}@client.example") for i in range(PAGE_SIZE + 5)]
    key = uploaded(importer, org, csv_bytes(rows))

    first = importer.get(PREVIEW, key)
    second = importer.get(PREVIEW, {**key, "new_page": 2})

    assert [r["external_id"] for r in first.context["sections"]["new"]["rows"]][:2] == ["NEW-0", "NEW-1"]
    assert [r["external_id"] for r in second.context["sections"]["new"]["rows"]] == [
        f"NEW-{i}" for i in range(PAGE_SIZE, PAGE_SIZE + 5)
    ]
    assert f"new{PAGE_SIZE + 4}@client.example" in second.content.decode()
    assert f"new{PAGE_SIZE + 4}@client.example" not in first.content.decode()


# --- Downloads ----------------------------------------------------------------------------------------


def test_csv_template_has_the_english_headers_and_an_example_row(importer):
    response = importer.get(reverse("admin:contacts_contact_import_template", args=["csv"]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == HEADERS
    assert len(lines) == 2
    assert lines[1][3] == "camille.martin@example.com"


def test_xlsx_template_has_drop_down_lists_for_occupation_and_main_contact(importer):
    response = importer.get(reverse("admin:contacts_contact_import_template", args=["xlsx"]))

    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [cell.value for cell in sheet[1]] == HEADERS
    validations = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert validations == {"H2": '"ACCOUNTING,SALES,PURCHASER,PAYER"', "I2": '"1,0"'}


def test_preview_error_report_lists_the_invalid_rows_with_their_errors(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, one_valid_one_invalid(customer))

    response = importer.get(reverse("admin:contacts_contact_import_error_report", args=["csv"]), key)

    assert response.status_code == 200
    assert 'filename="contacts-errors.csv"' in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == [*HEADERS, ERROR_COLUMN]
    assert len(lines) == 2
    assert lines[1][2:4] == ["C-2", "not-an-email"]
    assert lines[1][-1].startswith('Row 3, "Contact\'s Email": ')


# --- Permissions (the import and its history) ----------------------------------------------------


def test_staff_without_the_permissions_get_403_everywhere(org):
    batch = committed_batch(org)
    customer = CustomerFactory(organization=org)
    importer = staff_client("import_contacts")
    key = uploaded(importer, org, two_rows(customer))
    outsider = staff_client("view_contact", "change_contact")
    ImportUpload.objects.update(user=outsider.user)  # even owning the upload

    gets = [
        UPLOAD,
        f"{PREVIEW}?organization={key['organization']}&file={key['file']}&sha256={key['sha256']}",
        reverse("admin:contacts_contact_import_template", args=["csv"]),
        reverse("admin:contacts_contact_import_template", args=["xlsx"]),
        reverse("admin:contacts_contact_import_error_report", args=["csv"]) + f"?file={key['file']}",
        HISTORY,
        reverse("admin:contacts_importbatch_change", args=[batch.pk]),
        reverse("admin:contacts_importbatch_file", args=[batch.pk]),
        reverse("admin:contacts_importbatch_error_report", args=[batch.pk, "csv"]),
    ]
    for url in gets:
        assert outsider.get(url).status_code == 403, url
    assert (
        outsider.post(
            UPLOAD, {"organization": org.pk, "file": uploaded_file(two_rows(customer), "a.csv")}
        ).status_code
        == 403
    )
    assert outsider.post(CONFIRM, key).status_code == 403
    assert UPLOAD.encode() not in outsider.get(CHANGELIST).content
    assert Contact.objects.filter(customer=customer).count() == 0


def test_anonymous_users_are_sent_to_the_login_page(client, org):
    batch = committed_batch(org)

    for url in (UPLOAD, reverse("admin:contacts_importbatch_file", args=[batch.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_import_forms_carry_a_csrf_token(importer, org):
    customer = CustomerFactory(organization=org)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(importer.user)

    form = csrf_client.get(UPLOAD)
    refused = csrf_client.post(
        UPLOAD, {"organization": org.pk, "file": uploaded_file(two_rows(customer), "a.csv")}
    )

    assert 'name="csrfmiddlewaretoken"' in form.content.decode()
    assert refused.status_code == 403
    key = uploaded(importer, org, two_rows(customer))
    assert 'name="csrfmiddlewaretoken"' in importer.get(PREVIEW, key).content.decode()


def test_uploads_nobody_used_for_the_preview_lifetime_are_deleted_by_the_sweep(importer, org, settings):
    settings.CONTACT_IMPORT_PREVIEW_HOURS = 2
    customer = CustomerFactory(organization=org)
    old = uploaded(importer, org, two_rows(customer))
    recent = uploaded(importer, org, one_valid_one_invalid(customer))
    ImportUpload.objects.filter(token=old["file"]).update(used_at=timezone.now() - timedelta(hours=3))

    call_command("sweep_imports", stdout=io.StringIO())

    assert stored_previews() == [recent["file"]]
    assert importer.get(PREVIEW, old)["Location"] == UPLOAD


def test_the_demo_support_staff_group_can_import_and_read_the_history(org):
    call_command("seed_demo")
    member = UserFactory()
    member.groups.add(Group.objects.get(name=SUPPORT_GROUP))
    client = Client()
    client.force_login(member)

    assert client.get(UPLOAD).status_code == 200
    assert client.get(HISTORY).status_code == 200
    assert UPLOAD.encode() in client.get(CHANGELIST).content


HOSTILE_FILES = [
    ("random.csv", bytes(range(256)) * 40, NOT_SPREADSHEET.format(name='"random.csv"')),
    ("random.xlsx", b"PK\x03\x04" + bytes(range(256)) * 40, DAMAGED.format(name='"random.xlsx"')),
    ("scan.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", PDF),
    ("header-only.csv", csv_bytes([]), NO_DATA_ROWS),
]


@pytest.mark.parametrize(("name", "data", "message"), HOSTILE_FILES, ids=[case[0] for case in HOSTILE_FILES])
def test_a_broken_file_previews_as_one_clear_line_and_cannot_be_confirmed(importer, org, name, data, message):
    key = uploaded(importer, org, data, name)

    preview = importer.get(PREVIEW, key)
    confirm = importer.post(CONFIRM, {**key, "skip_invalid": "on"})

    assert preview.status_code == 200
    assert preview.context["file_errors"] == [message]
    assert 'id="confirm-import"' not in preview.content.decode()
    assert message in messages_of(confirm)
    assert Contact.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_an_empty_upload_is_refused_on_the_form(importer, org, media_root):
    response = upload(importer, org, b"", "empty.csv")

    assert response.context["form"].errors["file"] == [EMPTY]
    assert stored_previews(media_root) == []


def test_an_override_reason_too_long_is_refused_with_the_forms_message(supervisor, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(supervisor, org, two_rows(customer))

    response = supervisor.post(CONFIRM, {**key, "override_reason": "x" * 1001})

    assert response["Location"].startswith(PREVIEW)
    assert "Ensure this value has at most 1000 characters (it has 1001)." in messages_of(response)
    assert Contact.objects.count() == 0
