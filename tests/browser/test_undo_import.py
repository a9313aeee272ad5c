"""Undo of an import from its page, as a support agent does it, and the Changes list on a laptop."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from contacts.admin.undo import UNDONE
from contacts.importing.pipeline import commit_import
from contacts.models import Contact, ImportBatch
from contacts.services.contacts import contact_update
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import actor, contact_row, csv_bytes, log_in, support_agent

pytestmark = pytest.mark.django_db(transaction=True)


def test_support_agent_undoes_an_import_from_its_page_leaving_a_conflict(page, live_server, screenshots_dir):
    organization = OrganizationFactory(name="Acme Industries", slug="acme")
    bakery = CustomerFactory(organization=organization, name="Boulangerie Martin", external_id="AC-1001")
    ContactFactory(
        customer=bakery,
        external_id="AC-C1",
        email="lea@bakery.example",
        first_name="Léa",
        last_name="Roux",
        is_main=True,
    )
    ContactFactory(
        customer=bakery,
        external_id="AC-C2",
        email="paul@bakery.example",
        first_name="Paul",
        last_name="Petit",
    )
    agent = support_agent("support")
    rows = [
        contact_row(bakery, "AC-C1", "lea@bakery.example", first_name="Léa", last_name="Wrong"),
        contact_row(bakery, "AC-C2", "paul@bakery.example", first_name="Paul", last_name="Wrong"),
        contact_row(bakery, "AC-C3", "new@bakery.example", first_name="Nina", is_main="yes"),
    ]
    batch = commit_import(
        organization=organization, data=csv_bytes(rows), filename="wrong.csv", user=agent
    ).batch
    # Someone fixes Paul by hand after the import: undo must leave him alone.
    contact_update(
        contact=Contact.objects.get(external_id="AC-C2"), actor=actor(name="lea.admin"), phone="0612345678"
    )

    log_in(page, live_server, "support")
    page.goto(live_server.url + reverse("admin:contacts_importbatch_change", args=[batch.pk]))
    page.click("text=Undo this import…")
    expect(page.locator(".undo-deleted strong")).to_have_text("1")
    expect(page.locator(".undo-restored strong")).to_have_text("1")
    expect(page.locator(".undo-conflicts strong")).to_have_text("1")
    expect(page.locator(".undo-conflicts-table")).to_contain_text("AC-C2")
    expect(page.locator(".undo-conflicts-table")).to_contain_text("lea.admin")
    page.screenshot(path=str(screenshots_dir / "undo-import-preview.png"), full_page=True)
    page.click("input[name=confirm]")

    expect(page.locator(".messagelist")).to_contain_text(
        str(UNDONE % {"batch": batch.pk, "deleted": 1, "restored": 1, "left": 1})
    )
    expect(page.locator(".field-undo_list")).to_contain_text("Undone on")
    assert ImportBatch.objects.get().status == "undone"
    assert dict(Contact.objects.values_list("external_id", "last_name")) == {
        "AC-C1": "Roux",
        "AC-C2": "Wrong",
    }
    assert Contact.objects.get(is_main=True).external_id == "AC-C1"


def test_the_changes_list_fits_a_laptop_screen_without_scrolling_sideways(page, live_server):
    organization = OrganizationFactory(name="Acme Industries")
    customer = CustomerFactory(organization=organization, name="Boulangerie Martin")
    support_agent("support")
    rows = [
        contact_row(
            customer,
            f"AC-C-{n:04d}-LONG-IDENTIFIER-CODE",
            f"a.rather.long.address.number.{n}@boulangerie-martin-et-fils.example",
            first_name="Marie-Christine",
            last_name="de La Rochefoucauld-Montmorency",
            phone="06 12 34 56 78",
            occupation="ACCOUNTING",
        )
        for n in range(20)
    ]
    commit_import(organization=organization, data=csv_bytes(rows), filename="long.csv")
    page.set_viewport_size({"width": 1366, "height": 768})

    log_in(page, live_server, "support")
    page.goto(live_server.url + reverse("admin:contacts_contactchange_changelist"))
    expect(page.locator("#result_list")).to_contain_text("AC-C-0000-LONG-IDENTIFIER-CODE")

    expect(page.locator("#nav-sidebar")).to_be_visible()
    # The admin lets the results table scroll inside its box: neither the page nor the box may.
    overflow = page.evaluate(
        """[document.documentElement, document.querySelector('#changelist .results')]
            .map(box => box.scrollWidth - box.clientWidth)"""
    )
    assert overflow == [0, 0]
