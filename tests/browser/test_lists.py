"""Every list of this app fits the laptop screen support works on (1366x768) with the admin's navigation
sidebar open: no list scrolls sideways, whatever is registered (a new list is checked as soon as its
ModelAdmin is)."""

import datetime

import pytest
from django.contrib import admin
from django.urls import reverse
from playwright.sync_api import expect

from contacts.importing.pipeline import commit_import
from contacts.models import ImportBatch
from contacts.services.changelog import Actor
from contacts.services.contacts import contact_create
from customers.models import OrganizationAPIKey
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import contact_row, csv_bytes, log_in

pytestmark = pytest.mark.django_db(transaction=True)

APPS = ("contacts", "customers")


def changelists() -> list[str]:
    """The admin's list of every model of this app's two packages that has one."""
    return sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
        if model._meta.app_label in APPS
    )


def long_but_real_data() -> None:
    """Values as long as support meets them (names, emails, file names, override reasons), written
    through the services and the import where possible, so that lists of what they record have rows."""
    organization = OrganizationFactory(name="Transports Lefèvre & Fils Distribution")
    customer = CustomerFactory(
        organization=organization,
        name="Société Coopérative Agricole du Haut-Jura",
        external_id="TLF-CUST-2026-00042",
    )
    agent = UserFactory(username="marie-christine.support")
    contact_create(
        organization=organization,
        customer=customer,
        actor=Actor.staff(agent),
        external_id="TLF-C-2026-00042-01",
        email="marie-christine.de-la-fontaine-beaumarchais@cooperative-haut-jura.example",
        first_name="Marie-Christine",
        last_name="de La Fontaine-Beaumarchais",
        phone="+33612345678",
        occupation="ACCOUNTING",
        is_main=True,
    )
    ContactFactory(
        customer=customer,
        external_id="TLF-C-2026-00042-04",
        email="hugo.thomas@cooperative-haut-jura.example",
        first_name="Hugo",
        last_name="Thomas",
        occupation="PURCHASER",
        source="invoicing",
    )
    rows = [
        contact_row(
            customer,
            "TLF-C-2026-00042-02",
            "jean-baptiste.rousseau@cooperative-haut-jura.example",
            first_name="Jean-Baptiste",
            last_name="Rousseau",
        ),
        contact_row(customer, "TLF-C-2026-00042-03", "not-an-email"),
    ]
    commit_import(
        organization=organization,
        data=csv_bytes(rows),
        filename="Contacts Transports Lefèvre - corrigés par le client (version finale 2).csv",
        user=agent,
        skip_invalid=True,
    )
    ImportBatch.objects.create(
        organization=organization,
        user=agent,
        file_name="Contacts Transports Lefèvre - corrigés par le client (version finale 3).xlsx",
        sha256="0" * 64,
        format="xlsx",
        status=ImportBatch.Status.FAILED,
        rows=120_000,
        new=100_000,
        updated=15_000,
        unchanged=4_000,
        invalid=1_000,
        failure_reason="The database refused the writes.",
        override_reason="Client re-sent the corrected file after the first import missed two hundred rows",
        created_at=datetime.datetime(2026, 11, 30, 23, 59, tzinfo=datetime.UTC),
    )
    OrganizationFactory(name="Globex Distribution Europe", synced=True)
    OrganizationAPIKey.objects.create_key(organization=organization, name="ERP synchronisation (production)")


@pytest.mark.parametrize(
    ("browser_page", "language"),
    [("page", "en"), ("french_page", "fr")],
    ids=["english", "french"],
)
def test_no_list_of_this_app_scrolls_sideways_at_1366_with_the_sidebar_open(
    request, browser_page, language, live_server, screenshots_dir, tmp_path
):
    # French column titles and values (dates, choices) are longer than English ones: both must fit.
    page = request.getfixturevalue(browser_page)
    long_but_real_data()
    UserFactory(username="admin", is_superuser=True)  # sees every column and the actions' checkboxes
    log_in(page, live_server, "admin")
    urls = changelists()
    assert len(urls) >= 5  # contacts, imports, customers, organizations, API keys

    too_wide = {}
    for url in urls:
        page.goto(live_server.url + url)
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("#nav-sidebar")).to_be_visible()
        expect(page.locator("#changelist")).to_be_visible()
        widths = page.evaluate(
            """() => {
                // An empty list has no table: then only the page itself is measured.
                const box = document.querySelector('#changelist-form .results') || document.documentElement;
                const root = document.documentElement;
                return {page: [root.scrollWidth, root.clientWidth], list: [box.scrollWidth, box.clientWidth]};
            }"""
        )
        if widths["page"][0] > widths["page"][1] or widths["list"][0] > widths["list"][1]:
            too_wide[url] = widths
        name = url.strip("/").replace("/", "-")
        page.screenshot(path=tmp_path / f"{name}-{language}.png", full_page=True)  # to look at on failure
        if url == reverse("admin:contacts_contact_changelist") and language == "en":
            page.screenshot(path=screenshots_dir / "contacts-list.png")

    assert too_wide == {}
