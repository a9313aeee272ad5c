"""What the preview shows beside the rows: the blank-cell policy, a file already imported, the month's limit
at the top, and the error report's languages."""

import hashlib
import re

import pytest
from django.urls import reverse
from django.utils import translation

from contacts.admin import import_preview
from contacts.importing import reimport, reports
from contacts.importing.pipeline import commit_import
from contacts.models import ImportBatch
from contacts.services.changelog import Actor
from contacts.services.contacts import contact_update
from tests.factories import ContactFactory, CustomerFactory, UserFactory
from tests.helpers import PREVIEW, contact_row, csv_bytes, uploaded

pytestmark = pytest.mark.django_db

FRENCH = [
    "Nom du client",
    "Code d'identification externe",
    "Identifiant du contact",
    "Email du contact",
    "Prénom du contact",
    "Nom du contact",
]


@pytest.fixture
def elodie(org):
    customer = CustomerFactory(organization=org)
    return ContactFactory(
        customer=customer,
        external_id="CT-1",
        email="elodie@client.example",
        first_name="Élodie",
        last_name="Martin",
        phone="+33612345678",
    )


def only_email_file(contact, email: str) -> bytes:
    return csv_bytes([contact_row(contact.customer, contact.external_id, email)])


def test_the_update_list_shows_the_values_blank_cells_keep(importer, org, elodie):
    key = uploaded(importer, org, only_email_file(elodie, "elodie.martin@client.example"))

    content = importer.get(PREVIEW, key).content.decode()

    policy = import_preview.BLANKS_KEEP % {"count": 1}
    assert f'id="blank-policy">{policy}</p>' in content.replace("&#x27;", "'")
    kept = re.findall(r'<li class="kept"><span class="field">(.*?)</span>: (.*?)</li>', content)
    assert kept == [
        ("Contact&#x27;s First Name", "Élodie kept (blank cell)"),
        ("Contact&#x27;s Last Name", "Martin kept (blank cell)"),
        ("Contact&#x27;s Telephone Number", "+33612345678 kept (blank cell)"),
    ]
    assert "→ <ins>(blank)</ins>" not in content


def test_the_update_list_shows_the_values_blank_cells_clear_when_chosen(importer, org, elodie):
    key = uploaded(importer, org, only_email_file(elodie, "elodie@client.example"), blank_clears="on")

    response = importer.get(PREVIEW, key)

    content = response.content.decode().replace("&#x27;", "'")
    assert f'id="blank-policy">{import_preview.BLANKS_CLEAR}</p>' in content
    assert "<del>Élodie</del> → <ins>(blank)</ins>" in content
    assert '<li class="kept">' not in content
    assert response.context["report"].totals["updated"] == 1


def test_a_file_already_imported_is_warned_about_at_the_top_with_a_link_to_its_import(importer, org, elodie):
    data = only_email_file(elodie, "elodie.new@client.example")
    batch = commit_import(organization=org, data=data, filename="first.csv", user=importer.user).batch

    content = importer.get(PREVIEW, uploaded(importer, org, data, "again.csv")).content.decode()

    warning = content.index('id="reimport-warning"')
    assert warning < content.index('id="totals"')
    assert reimport.already_imported(batch).replace("'", "&#x27;") in content
    link = reverse("admin:contacts_importbatch_change", args=[batch.pk])
    assert f'<a href="{link}" id="earlier-import-link">' in content


def test_the_same_file_of_another_organization_or_never_committed_is_no_reimport(importer, org, elodie):
    data = only_email_file(elodie, "elodie.new@client.example")
    ImportBatch.objects.create(
        organization=org,
        file_name="a.csv",
        sha256=hashlib.sha256(data).hexdigest(),
        format="csv",
        status=ImportBatch.Status.FAILED,
    )
    other = CustomerFactory()
    commit_import(
        organization=other.organization,
        data=csv_bytes([contact_row(other, "CT-1", "x@y.example")]),
        filename="x.csv",
    )

    content = importer.get(PREVIEW, uploaded(importer, org, data)).content.decode()

    assert 'id="reimport-warning"' not in content


def test_a_value_changed_by_hand_since_the_same_file_was_imported_is_flagged_as_set_back(
    importer, org, elodie
):
    data = only_email_file(elodie, "elodie.new@client.example")
    commit_import(organization=org, data=data, filename="first.csv")
    support = UserFactory(username="support")
    contact_update(contact=elodie, actor=Actor.staff(support), email="elodie.hand@client.example")

    response = importer.get(PREVIEW, uploaded(importer, org, data))

    [warning] = [w for w in response.context["sections"]["warnings"]["rows"] if "set it back" in w]
    assert warning.startswith('Row 2, "Contact\'s Email": Changed by support on ')
    assert warning.endswith("; this file would set it back.")


def test_a_value_changed_since_then_back_by_another_import_is_not_flagged(importer, org, elodie):
    data = only_email_file(elodie, "elodie.new@client.example")
    commit_import(organization=org, data=data, filename="first.csv")
    contact_update(contact=elodie, actor=Actor.staff(UserFactory()), first_name="Élo")  # not the email
    batch = ImportBatch.objects.get()

    plan = commit_import(
        organization=org,
        data=only_email_file(elodie, "elodie.other@client.example"),
        filename="second.csv",
        override_reason="tests",
    ).plan

    assert reimport.changes_set_back(batch=batch, plan=plan) == []


def test_the_months_limit_is_shown_at_the_top_of_the_preview(importer, org, elodie, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 1
    commit_import(organization=org, data=only_email_file(elodie, "e1@client.example"), filename="a.csv")

    content = importer.get(
        PREVIEW, uploaded(importer, org, only_email_file(elodie, "e2@x.example"))
    ).content.decode()

    assert content.index('id="month-use"') < content.index('id="totals"')
    assert content.index('id="limit-notice"') < content.index('id="totals"')
    assert "1 of 1 import used this month (on " in content
    assert "ask a staff member allowed to override the monthly limit" in content


def test_the_error_report_is_offered_in_the_headers_language_first_and_the_other_too(importer, org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([[customer.name, customer.external_id, "CT-9", "bad", "", ""]], FRENCH, delimiter=";")

    response = importer.get(PREVIEW, uploaded(importer, org, data))

    links = response.context["report_links"]
    assert [(link["language"], link["default"]) for link in links] == [("fr", True), ("en", False)]
    content = response.content.decode()
    assert re.search(r'id="error-report-csv">CSV</a>', content)
    assert "language=fr" in content.split('id="error-report-csv"')[0].rsplit("<a ", 1)[1]
    assert 'id="error-report-en"' in content


@pytest.mark.parametrize(("asked", "expected"), [(None, "fr"), ("fr", "fr"), ("en", "en"), ("de", "fr")])
def test_the_error_report_is_rendered_in_the_language_asked_or_else_the_headers(
    importer, org, monkeypatch, asked, expected
):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([[customer.name, customer.external_id, "CT-9", "bad", "", ""]], FRENCH, delimiter=";")
    key = uploaded(importer, org, data)
    rendered_in = []
    original = reports.import_error_report

    def spy(report, data, *, format):
        rendered_in.append((translation.get_language(), [p.message for p in report.errors]))
        return original(report, data, format=format)

    monkeypatch.setattr(reports, "import_error_report", spy)

    query = {**key} if asked is None else {**key, "language": asked}
    response = importer.get(reverse("admin:contacts_contact_import_error_report", args=["csv"]), query)

    assert response.status_code == 200
    assert rendered_in[-1][0] == expected
    assert rendered_in[-1][1]  # the messages were found (and so rendered) in that language
