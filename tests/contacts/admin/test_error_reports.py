"""The error reports the admin hands out, from the preview and from the history, in the client's shape."""

import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import translation

from contacts.admin import history
from contacts.importing import reports
from contacts.models import ImportBatch
from tests.factories import CustomerFactory
from tests.helpers import CONFIRM, HEADERS, contact_row, csv_bytes, uploaded, xlsx_bytes

pytestmark = pytest.mark.django_db

FRENCH = [
    "Nom du client",
    "Code d'identification externe",
    "Identifiant du contact",
    "Email du contact",
    "Prénom du contact",
    "Nom du contact",
    "Téléphone du contact",
]


def preview_report(client, key: dict, format: str, **query) -> bytes:
    url = reverse("admin:contacts_contact_import_error_report", args=[format])
    return client.get(url, {**key, **query}).content


def history_report(client, format: str, **query) -> bytes:
    batch = ImportBatch.objects.get()
    return client.get(
        reverse("admin:contacts_importbatch_error_report", args=[batch.pk, format]), query
    ).content


@pytest.fixture
def french_file(org) -> bytes:
    customer = CustomerFactory(organization=org, name="Boulangerie Française")
    rows = [
        [
            customer.name,
            customer.external_id,
            "CT-1",
            "zoe@client.example",
            "Zoé",
            "Müller",
            "06 12 34 56 78",
        ],
        [customer.name, customer.external_id, "CT-2", "hélène@", "Hélène", "Lefèvre", "+33 6 18 00 00 00"],
    ]
    return csv_bytes(rows, FRENCH, delimiter=";", encoding="cp1252")


def test_a_cp1252_semicolon_upload_gets_cp1252_semicolon_reports_from_the_preview_and_the_history(
    importer, org, french_file
):
    key = uploaded(importer, org, french_file)
    from_preview = preview_report(importer, key, "csv")
    importer.post(CONFIRM, {**key, "skip_invalid": "on"})
    from_history = history_report(importer, "csv")

    for content in (from_preview, from_history):
        header, line = content.decode("cp1252").split("\r\n")[:2]
        assert header == ";".join([*FRENCH, "Erreur"])  # French headers: a French report
        assert line.startswith("Boulangerie Française;")
        # The phone as the client wrote it: no apostrophe before the +.
        assert ";+33 6 18 00 00 00;" in line


def test_the_xlsx_report_of_the_preview_and_the_history_paints_the_invalid_cell(importer, org, french_file):
    key = uploaded(importer, org, french_file)
    from_preview = preview_report(importer, key, "xlsx")
    # The history's report frames the messages recorded at the commit, in the language it ran in: a French
    # agent's.
    importer.post(CONFIRM, {**key, "skip_invalid": "on"}, HTTP_ACCEPT_LANGUAGE="fr")
    from_history = history_report(importer, "xlsx")

    for content in (from_preview, from_history):
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        row = sheet[2]
        email = row[FRENCH.index("Email du contact")]
        assert email.value == "hélène@"
        assert email.fill.fgColor.rgb == "00FFC7CE"
        assert '"hélène@" n\'est pas une adresse e-mail valide.' in email.comment.text
        assert row[FRENCH.index("Téléphone du contact")].value == "+33 6 18 00 00 00"
        assert row[-1].value.startswith('Ligne 3, "Email du contact"\xa0: ')


def test_the_history_report_frames_the_stored_messages_in_the_language_asked(importer, org, monkeypatch):
    customer = CustomerFactory(organization=org)
    data = xlsx_bytes([contact_row(customer, "C-1", "a@client.example"), contact_row(customer, "C-2", "bad")])
    key = uploaded(importer, org, data, "c.xlsx")
    importer.post(CONFIRM, {**key, "skip_invalid": "on"})
    languages = []
    original = reports.error_report

    def spy(*args, **kwargs):
        languages.append(translation.get_language())
        return original(*args, **kwargs)

    monkeypatch.setattr(reports, "error_report", spy)

    history_report(importer, "csv")
    history_report(importer, "csv", language="fr")

    assert languages == ["en", "fr"]


def test_a_workbook_upload_gets_a_comma_utf8_csv_report_for_english_headers(importer, org):
    customer = CustomerFactory(organization=org)
    key = uploaded(importer, org, xlsx_bytes([contact_row(customer, "C-1", "bad")]), "c.xlsx")

    content = preview_report(importer, key, "csv")

    assert content.startswith(b"\xef\xbb\xbf" + ",".join(HEADERS).encode())


def test_stored_problems_are_labelled_like_the_preview_labels_them():
    stored = {"row": 3, "column": "Email du contact", "message": "bad"}

    assert history.stored_problem_label(stored) == 'Row 3, "Email du contact": bad'
    assert history.stored_problem_label({"row": None, "column": None, "message": "file"}) == "file"
