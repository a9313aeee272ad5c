"""The import templates offered on the upload page: English or French headers, CSV or XLSX, both read
back by the import."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from contacts.fields import FRENCH_HEADERS, SPREADSHEET_FIELDS
from contacts.importing.pipeline import NO_DATA_ROWS, preview_import
from contacts.importing.reports import TEMPLATE_EXAMPLE
from contacts.importing.row_marks import TEMPLATE_EXAMPLE_SKIPPED
from tests.factories import CustomerFactory
from tests.helpers import UPLOAD

pytestmark = pytest.mark.django_db


def template(client, format: str, **query):
    return client.get(reverse("admin:contacts_contact_import_template", args=[format]), query)


def test_the_upload_page_offers_the_french_templates(importer):
    page = importer.get(UPLOAD).content.decode()

    for format in ("csv", "xlsx"):
        assert f"{reverse('admin:contacts_contact_import_template', args=[format])}?language=fr" in page


def test_the_french_csv_template_has_the_french_headers_and_reads_back_with_its_example_set_aside(
    importer, org
):
    CustomerFactory(organization=org, name="Boulangerie Martin", external_id="CUST-1001")

    response = template(importer, "csv", language="fr")

    assert response.status_code == 200
    assert 'filename="contacts-import-template-fr.csv"' in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == [FRENCH_HEADERS[field] for field in SPREADSHEET_FIELDS]
    report = preview_import(organization=org, data=response.content, filename="modele.csv")
    # Every French header is read (the example row is recognised by its code and email), and the example is
    # set aside rather than imported.
    assert [problem.message for problem in report.warnings] == [
        TEMPLATE_EXAMPLE_SKIPPED.format(
            rows="row 2", code=TEMPLATE_EXAMPLE["external_id"], email=TEMPLATE_EXAMPLE["email"]
        )
    ]
    assert [problem.message for problem in report.errors] == [NO_DATA_ROWS]


def test_the_french_xlsx_template_keeps_the_drop_down_lists(importer):
    response = template(importer, "xlsx", language="fr")

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [cell.value for cell in sheet[1]] == [FRENCH_HEADERS[field] for field in SPREADSHEET_FIELDS]
    assert len(sheet.data_validations.dataValidation) == 2


def test_an_unknown_template_language_is_not_found(importer):
    assert template(importer, "csv", language="de").status_code == 404
