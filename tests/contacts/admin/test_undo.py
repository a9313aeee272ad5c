"""Undo an import from its page: the button, the preview with its conflicts, the confirmation, refusals."""

import pytest
from django.urls import reverse

from contacts.admin.undo import KEEPS_MAIN, NOT_ALLOWED, UNDONE
from contacts.importing.pipeline import commit_import
from contacts.models import Contact, ImportBatch
from contacts.services.contacts import contact_update
from contacts.services.undo import FAILED_IMPORT, IMPORT_OF_ANOTHER_ORGANIZATION
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import actor, contact_row, csv_bytes, messages_of, staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def support():
    """Staff like the Support group: they see the history and may undo imports."""
    return staff_client("view_importbatch", "import_contacts", "undo_import", "view_contact")


def page(batch) -> str:
    return reverse("admin:contacts_importbatch_change", args=[batch.pk])


def undo_url(batch) -> str:
    return reverse("admin:contacts_importbatch_undo", args=[batch.pk])


def an_import_with_a_conflict(org):
    """C-NEW created, C-OLD changed by the import then edited in the admin, C-KEPT changed only by it."""
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-OLD", email="old@b.example", last_name="Old")
    ContactFactory(customer=customer, external_id="C-KEPT", email="kept@b.example", last_name="Kept")
    rows = [
        contact_row(customer, "C-OLD", "old@b.example", last_name="Imported"),
        contact_row(customer, "C-KEPT", "kept@b.example", last_name="Imported"),
        contact_row(customer, "C-NEW", "new@b.example"),
    ]
    batch = commit_import(organization=org, data=csv_bytes(rows), filename="clients.csv").batch
    contact_update(
        contact=Contact.objects.get(external_id="C-OLD"), actor=actor(name="lea"), first_name="Edited"
    )
    return batch


def last_names() -> dict[str, str]:
    return dict(Contact.objects.values_list("external_id", "last_name"))


def test_the_import_page_offers_undo_to_staff_allowed_to_undo_only(org, support):
    batch = an_import_with_a_conflict(org)

    with_permission = support.get(page(batch)).content.decode()
    without = staff_client("view_importbatch").get(page(batch)).content.decode()

    assert undo_url(batch) in with_permission
    assert "Undo this import…" in with_permission
    assert undo_url(batch) not in without


def test_the_preview_counts_what_the_undo_does_and_lists_the_conflicts_with_who_and_what(org, support):
    batch = an_import_with_a_conflict(org)
    before = last_names()

    response = support.get(undo_url(batch))

    assert response.status_code == 200
    assert response.context["totals"] == {
        "deleted": 1,
        "restored": 1,
        "conflicts": 1,
        "left": 1,
        "demoted": 0,
    }
    [conflict] = response.context["conflicts"]
    assert conflict["code"] == "C-OLD"
    assert [(c["who"], c["channel"]) for c in conflict["later"]] == [("lea", "Admin")]
    assert "first name: Camille → Edited" in str(conflict["later"][0]["fields"])
    assert last_names() == before


def test_confirming_undoes_the_import_and_leaves_the_conflicts(org, support):
    batch = an_import_with_a_conflict(org)

    response = support.post(undo_url(batch), {"organization": org.pk})

    assert response["Location"] == page(batch)
    assert messages_of(response) == [UNDONE % {"batch": batch.pk, "deleted": 1, "restored": 1, "left": 1}]
    assert last_names() == {"C-OLD": "Imported", "C-KEPT": "Kept"}
    batch.refresh_from_db()
    assert (batch.status, batch.undone_by) == ("undone", support.user)
    shown = support.get(page(batch)).content.decode()
    assert "Undone on" in shown
    assert undo_url(batch) not in shown


def test_ticking_the_conflicts_restores_them_too(org, support):
    batch = an_import_with_a_conflict(org)

    support.post(undo_url(batch), {"organization": org.pk, "include_conflicts": "on"})

    assert last_names() == {"C-OLD": "Old", "C-KEPT": "Kept"}


def test_staff_without_the_permission_are_refused_with_a_message(org):
    batch = an_import_with_a_conflict(org)
    before = last_names()
    viewer = staff_client("view_importbatch")

    preview = viewer.get(undo_url(batch))
    confirm = viewer.post(undo_url(batch), {"organization": org.pk})

    assert messages_of(preview) == [str(NOT_ALLOWED)]
    assert (confirm.status_code, confirm["Location"]) == (302, page(batch))
    assert last_names() == before
    assert ImportBatch.objects.get().status == "committed"


def test_a_crafted_confirmation_for_another_organization_is_refused(org, support):
    batch = an_import_with_a_conflict(org)
    other = OrganizationFactory(name="Other Org")
    before = last_names()

    response = support.post(undo_url(batch), {"organization": other.pk})

    assert messages_of(response) == [
        IMPORT_OF_ANOTHER_ORGANIZATION % {"batch": batch.pk, "organization": "Other Org"}
    ]
    assert last_names() == before


def test_a_failed_import_cannot_be_undone_from_its_page(org, support):
    batch = ImportBatch.objects.create(
        organization=org, file_name="x.csv", sha256="0", format="csv", status="failed"
    )

    response = support.get(undo_url(batch))

    assert response["Location"] == page(batch)
    assert messages_of(response) == [FAILED_IMPORT % {"batch": batch.pk}]
    assert undo_url(batch) not in support.get(page(batch)).content.decode()


def test_the_preview_says_why_a_new_main_contact_is_kept(org, support):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="MAIN", email="main@b.example", is_main=True)
    ContactFactory(customer=customer, external_id="OTHER", email="other@b.example")
    rows = [contact_row(customer, "NEW", "new@b.example", is_main="yes")]
    batch = commit_import(organization=org, data=csv_bytes(rows), filename="c.csv").batch
    contact_update(contact=Contact.objects.get(external_id="MAIN"), actor=actor(), first_name="Edited")

    response = support.get(undo_url(batch))

    kept = {c["code"]: c["notes"] for c in response.context["conflicts"]}
    assert kept["NEW"] == [KEEPS_MAIN % {"previous": "MAIN"}]
    assert str(KEEPS_MAIN % {"previous": "MAIN"}) in response.content.decode().replace("&#x27;", "'")
