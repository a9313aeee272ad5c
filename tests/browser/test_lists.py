"""Every list of this app fits the laptop screen support works on (1366x768) with the admin's navigation
sidebar open: no list scrolls sideways, whatever is registered (a new list is checked as soon as its
ModelAdmin is)."""

import datetime

import pytest
from django.contrib import admin
from django.urls import reverse
from playwright.sync_api import expect

from contacts.models import ImportBatch
from customers.models import OrganizationAPIKey
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import log_in

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
    """Values as long as support meets them: long names, emails, file names and override reasons."""
    organization = OrganizationFactory(name="Transports Lefèvre & Fils Distribution")
    customer = CustomerFactory(
        organization=organization,
        name="Société Coopérative Agricole du Haut-Jura",
        external_id="TLF-CUST-2026-00042",
    )
    ContactFactory(
        customer=customer,
        external_id="TLF-C-2026-00042-01",
        email="marie-christine.de-la-fontaine-beaumarchais@cooperative-haut-jura.example",
        first_name="Marie-Christine",
        last_name="de La Fontaine-Beaumarchais",
        phone="+33612345678",
        occupation="ACCOUNTING",
        is_main=True,
    )
    ContactFactory(customer=customer, occupation="PURCHASER", source="invoicing")
    OrganizationFactory(name="Globex Distribution Europe", synced=True)
    agent = UserFactory(username="marie-christine.support")
    for status, reason in (
        (ImportBatch.Status.COMMITTED, "Client re-sent the corrected file"),
        ("failed", ""),
    ):
        ImportBatch.objects.create(
            organization=organization,
            user=agent,
            file_name="Contacts Transports Lefèvre - corrigés par le client (version finale 2).xlsx",
            sha256="0" * 64,
            format="xlsx",
            status=status,
            rows=120_000,
            new=100_000,
            updated=15_000,
            unchanged=4_000,
            invalid=1_000,
            errors=[{"row": 2, "column": "Contact's Email", "message": "Invalid."}],
            override_reason=reason,
            created_at=datetime.datetime(2026, 11, 30, 23, 59, tzinfo=datetime.UTC),
        )
    OrganizationAPIKey.objects.create_key(organization=organization, name="ERP synchronisation (production)")


def test_no_list_of_this_app_scrolls_sideways_at_1366_with_the_sidebar_open(
    page, live_server, screenshots_dir
):
    long_but_real_data()
    UserFactory(username="admin", is_superuser=True)  # sees every column and the actions' checkboxes
    log_in(page, live_server, "admin")
    urls = changelists()
    assert len(urls) >= 5  # contacts, imports, customers, organizations, API keys

    too_wide = {}
    for url in urls:
        page.goto(live_server.url + url)
        expect(page.locator("#nav-sidebar")).to_be_visible()
        expect(page.locator("#result_list tbody tr").first).to_be_visible()
        widths = page.evaluate(
            """() => {
                const box = document.querySelector('#changelist-form .results');
                const root = document.documentElement;
                return {page: [root.scrollWidth, root.clientWidth], list: [box.scrollWidth, box.clientWidth]};
            }"""
        )
        if widths["page"][0] > widths["page"][1] or widths["list"][0] > widths["list"][1]:
            too_wide[url] = widths
        if url == reverse("admin:contacts_contact_changelist"):
            page.screenshot(path=screenshots_dir / "contacts-list.png")

    assert too_wide == {}
