"""Every admin page of this app, in a browser set to French, shows no English of this app: each page is
read in French and searched for this app's English phrases (data, the import's column headers and
Django's own untranslated bits aside)."""

import html
import re

import pytest
from django.urls import reverse

from contacts.importing.pipeline import commit_import
from contacts.models import ContactChange
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import (
    MANDATORY_FRENCH_HEADERS,
    MANDATORY_HEADERS,
    MAPPING,
    PREVIEW,
    UPLOAD,
    contact_row,
    csv_bytes,
    uploaded,
)

pytestmark = pytest.mark.django_db

# The mandatory columns, as a French and an English client write them.
FRENCH_HEADERS, ENGLISH_HEADERS = MANDATORY_FRENCH_HEADERS, MANDATORY_HEADERS
# English phrases of this app that a French page once showed, or that would show if a string lost its
# translation: titles, buttons, labels, the change log's entry titles, the report's language links.
ENGLISH = [
    "Import contacts",
    "Export contacts",
    "Import history",
    "This month at a glance",
    "without a main contact",
    "Download template",
    "Blank cells clear",
    "Download the error report",
    "Skip invalid rows",
    "Confirm the import",
    "How to read the file",
    "Ignore this column",
    "Undo this import",
    "Also restore the conflicting contacts",
    "Contact changes",
    "is no longer the main contact",
    "import #",
    "(English)",
    "French:",
    "Created C-",  # a change-log entry's title: its action, then the contact's code
    "Updated C-",
    "created C-",
    "updated C-",
    "Affichage de import",  # the admin's "View import", without the elision French needs
]


def text_of(response) -> str:
    """What a person reads on the page: its text and tooltips, without scripts and styles."""
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", "", response.content.decode())
    tooltips = " ".join(re.findall(r'(?:title|placeholder|value)="([^"]*)"', page))
    return html.unescape(re.sub(r"<[^>]+>", " ", page) + " " + tooltips)


def english_on(pages: dict[str, str]) -> dict[str, list[str]]:
    return {
        name: found
        for name, text in pages.items()
        if (found := [phrase for phrase in ENGLISH if phrase in text])
    }


def test_no_page_of_this_app_shows_its_english_to_a_french_browser(superuser_client):
    client = superuser_client
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9"
    organization = OrganizationFactory(name="Acme Industries")
    synced = OrganizationFactory(name="Globex", synced=True)
    customer = CustomerFactory(organization=organization, name="Boulangerie Martin", external_id="AC-1001")
    CustomerFactory(organization=organization, name="Sans Contact SARL")
    first = ContactFactory(customer=customer, external_id="C-0", email="zoe@b.example", is_main=True)
    second = ContactFactory(customer=customer, external_id="C-9", email="max@b.example")
    synced_contact = ContactFactory(customer=CustomerFactory(organization=synced), external_id="GX-1")
    batch = commit_import(
        organization=organization,
        data=csv_bytes(
            [
                [customer.name, customer.external_id, "C-1", "lea@b.example"],
                [customer.name, customer.external_id, "C-2", "paul@"],
            ],
            FRENCH_HEADERS,
        ),
        filename="clients.csv",
        skip_invalid=True,
    ).batch
    demoting = client.post(
        reverse("admin:contacts_contact_change", args=[second.pk]),
        {"customer": customer.pk, "external_id": "C-9", "email": "max@b.example", "is_main": "on"},
        follow=True,
    )
    invalid = csv_bytes([contact_row(customer, "C-3", "ann@"), contact_row(customer, "C-4", "bob@b.example")])
    guessed = csv_bytes(
        [[customer.name, customer.external_id, "C-5", "eve@b.example", "0612345678"]],
        [*ENGLISH_HEADERS, "Telephonne"],  # a close spelling: a guess the mapping step asks about
    )
    mapping = client.get(PREVIEW, uploaded(client, organization, guessed, "renamed.csv"), follow=True)
    change = ContactChange.objects.filter(external_id="C-1").first()

    pages = {
        name: text_of(client.get(url))
        for name, url in {
            "home": reverse("admin:index"),
            "contacts": reverse("admin:contacts_contact_changelist"),
            "contact": reverse("admin:contacts_contact_change", args=[first.pk]),
            "synced contact": reverse("admin:contacts_contact_change", args=[synced_contact.pk]),
            "new contact": reverse("admin:contacts_contact_add"),
            "contact history": reverse("admin:contacts_contact_history", args=[first.pk]),
            "customers": reverse("admin:customers_customer_changelist"),
            "customer": reverse("admin:customers_customer_change", args=[customer.pk]),
            "organizations": reverse("admin:customers_organization_changelist"),
            "organization": reverse("admin:customers_organization_change", args=[organization.pk]),
            "synced organization": reverse("admin:customers_organization_change", args=[synced.pk]),
            "API keys": reverse("admin:customers_organizationapikey_changelist"),
            "import history": reverse("admin:contacts_importbatch_changelist"),
            "import": reverse("admin:contacts_importbatch_change", args=[batch.pk]),
            "undo preview": reverse("admin:contacts_importbatch_undo", args=[batch.pk]),
            "changes": reverse("admin:contacts_contactchange_changelist"),
            "change": reverse("admin:contacts_contactchange_change", args=[change.pk]),
            "upload": UPLOAD,
            "export": f"{reverse('admin:contacts_contact_export')}?organization__id__exact={organization.pk}",
        }.items()
    }
    pages["preview"] = text_of(client.get(PREVIEW, uploaded(client, organization, invalid)))
    pages["mapping"] = text_of(mapping)
    pages["saved with a demotion"] = text_of(demoting)

    assert mapping.redirect_chain[-1][0].startswith(MAPPING)  # the mapping step itself was read
    assert english_on(pages) == {}
    # French sentences, spaced as French is (a no-break space before the colon).
    assert "Acme Industries\xa0: " in pages["preview"]
    assert "(anglais)" in pages["preview"]
    assert "français\xa0:" in pages["preview"]
    assert "Créé C-1" in pages["change"]


def test_the_preview_names_the_columns_a_french_file_lacks_by_their_french_headers(superuser_client, org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([[customer.name, customer.external_id, "C-1", "lea@b.example"]], FRENCH_HEADERS)

    preview = text_of(superuser_client.get(PREVIEW, uploaded(superuser_client, org, data)))

    assert "Prénom du contact" in preview
    assert "Contact's First Name" not in preview


def test_the_mapping_step_names_the_fields_by_their_french_headers_for_a_french_agent(superuser_client, org):
    customer = CustomerFactory(organization=org)
    guessed = csv_bytes(
        [[customer.name, customer.external_id, "C-1", "lea@b.example", "0612345678"]],
        [*FRENCH_HEADERS, "Telephonne"],
    )
    client = superuser_client
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"

    page = client.get(PREVIEW, uploaded(client, org, guessed), follow=True).content.decode()

    assert re.search(r'<option value="phone"[^>]*>Téléphone du contact</option>', page)
    assert "Contact&#x27;s Telephone Number" not in page
