"""The import's upload page: the blank-cell choice, and each organization's imports of the month up front."""

import datetime
import re

import pytest
from django.utils import timezone

from contacts.importing.limits import month_use
from contacts.models import Contact, ImportBatch
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import CONFIRM, PREVIEW, UPLOAD, contact_row, csv_bytes, uploaded

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_import_a_month(settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 1
    settings.TIME_ZONE = "Europe/Paris"


def committed_on(org, when: datetime.datetime, user=None) -> ImportBatch:
    return ImportBatch.objects.create(
        organization=org,
        user=user,
        file_name="a.csv",
        sha256="0" * 64,
        format="csv",
        status="committed",
        created_at=when,
    )


def test_the_upload_form_offers_the_blank_cell_choice_unticked(importer):
    content = importer.get(UPLOAD).content.decode()

    assert 'name="blank_clears"' in content
    assert "Blank cells clear the stored value" in content
    assert 'name="blank_clears" checked' not in content


def test_the_blank_cell_choice_travels_from_the_upload_to_the_commit_and_is_recorded(importer, org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1", email="ann@client.example", first_name="Ann")
    data = csv_bytes([contact_row(customer, "C-1", "ann@client.example", last_name="Lee")])

    key = uploaded(importer, org, data, blank_clears="on")
    preview = importer.get(PREVIEW, key)
    importer.post(CONFIRM, key)

    assert "blank_clears" not in key  # kept on the upload, not carried by the browser
    assert 'id="blank-policy"' in preview.content.decode()
    assert Contact.objects.get().first_name == ""
    assert ImportBatch.objects.get().blank_cells_clear is True


def test_without_the_choice_blank_cells_keep_and_the_batch_says_so(importer, org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1", email="ann@client.example", first_name="Ann")
    key = uploaded(
        importer, org, csv_bytes([contact_row(customer, "C-1", "ann@client.example", last_name="Lee")])
    )

    importer.post(CONFIRM, key)

    assert "blank_clears" not in key
    assert (Contact.objects.get().first_name, Contact.objects.get().last_name) == ("Ann", "Lee")
    assert ImportBatch.objects.get().blank_cells_clear is False


def test_the_upload_page_shows_each_organizations_imports_of_the_month(importer):
    acme = OrganizationFactory(name="Acme")
    OrganizationFactory(name="Globex")
    support = UserFactory(username="support")
    committed_on(acme, timezone.now(), support)

    content = importer.get(UPLOAD).content.decode()

    sentence = month_use([acme])[acme.pk].sentence()
    assert sentence.startswith("1 of 1 import used this month (on ")
    assert "by support); next from 1 " in sentence
    assert f"<strong>Acme</strong>: {sentence}." in content
    assert "The other organizations have not imported yet this month." in content


def test_staff_who_cannot_override_are_told_what_to_do_and_supervisors_are_not(importer, supervisor):
    acme = OrganizationFactory(name="Acme")
    committed_on(acme, timezone.now())
    advice = month_use([acme])[acme.pk].advice(acme)

    assert advice in importer.get(UPLOAD).content.decode()
    assert advice not in supervisor.get(UPLOAD).content.decode()
    assert "ask a staff member allowed to override the monthly limit" in advice


def test_an_import_of_last_month_does_not_count(importer):
    acme = OrganizationFactory(name="Acme")
    committed_on(acme, timezone.now() - datetime.timedelta(days=40))

    content = importer.get(UPLOAD).content.decode()

    assert "<strong>Acme</strong>" not in content
    assert "No organization has imported yet this month." in content


def test_the_month_use_sentence_names_the_last_import_and_the_first_day_of_next_month(org):
    paris = datetime.timezone(datetime.timedelta(hours=1))
    committed_on(org, datetime.datetime(2026, 12, 2, 10, 14, tzinfo=paris), UserFactory(username="support"))
    committed_on(org, datetime.datetime(2026, 12, 1, 9, 0, tzinfo=paris))

    use = month_use([org], now=datetime.datetime(2026, 12, 20, tzinfo=paris))[org.pk]

    assert (use.used, use.used_up) == (2, True)
    assert use.sentence() == "2 of 1 import used this month (on 2 Dec by support); next from 1 January"


def test_the_month_use_of_an_organization_without_import_is_short(org):
    use = month_use([org])[org.pk]

    assert (use.sentence(), use.used_up) == ("0 of 1 import used this month", False)


def test_the_import_page_of_the_history_shows_the_blank_cell_choice(superuser_client, org):
    batch = committed_on(org, timezone.now())
    batch.blank_cells_clear = True
    batch.save()

    content = superuser_client.get(f"/admin/contacts/importbatch/{batch.pk}/change/").content.decode()

    assert "Blank cells clear the stored value" in content
    assert re.search(r'field-blank_cells_clear.*?<img src="[^"]*icon-yes', content, re.S)
