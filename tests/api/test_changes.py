"""`GET /api/v1/contacts/changes`: created, updated and deleted events, oldest first, with a cursor."""

import datetime

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from contacts.api.changes import CURSOR_SALT, INVALID_CURSOR, SINCE_AND_CURSOR, encode_cursor
from contacts.importing.pipeline import commit_import
from contacts.models import Contact, ContactChange
from contacts.services.contacts import contact_create, contact_update
from contacts.services.erasure import contact_erase
from contacts.services.undo import import_undo
from tests.factories import ContactFactory, CustomerFactory, UserFactory
from tests.helpers import (
    CHANGES_FEED,
    actor,
    contact_row,
    contacts_as_mirrored,
    csv_bytes,
    follow_feed,
    staff_client,
)

pytestmark = pytest.mark.django_db


def test_events_come_oldest_first_with_the_values_each_change_set(api, org):
    customer = CustomerFactory(organization=org, external_id="CUST-1")
    created = api.post(
        f"/api/v1/customers/{customer.pk}/contacts", {"externalId": "K-1", "email": "a@b.example"}
    )
    contact_id = created.json()["id"]
    api.patch(f"/api/v1/customers/{customer.pk}/contacts/{contact_id}", {"firstName": "Ann"})
    api.delete(f"/api/v1/customers/{customer.pk}/contacts/{contact_id}")

    page = api.get(CHANGES_FEED).json()

    assert [(e["event"], e["contactId"], e["externalId"], e["channel"]) for e in page["events"]] == [
        ("created", contact_id, "K-1", "api"),
        ("updated", contact_id, "K-1", "api"),
        ("deleted", contact_id, "K-1", "api"),
    ]
    assert page["events"][0]["values"] == {
        "id": contact_id,
        "externalId": "K-1",
        "customerId": customer.pk,
        "customerExternalId": "CUST-1",
        "email": "a@b.example",
        "firstName": "",
        "lastName": "",
        "phone": None,
        "position": None,
        "isMain": False,
        "source": "api",
        # Deleted since: its creation time is the event's.
        "createdAt": page["events"][0]["at"],
        "updatedAt": page["events"][0]["at"],
    }
    assert page["events"][1]["values"] == {"firstName": "Ann"}
    assert page["events"][2]["values"] == {}
    assert page["events"][0]["customerId"] == customer.pk
    assert page["events"][0]["at"].endswith("Z")
    assert page["hasMore"] is False


def test_the_cursor_pages_through_the_events_and_an_empty_page_keeps_it(api, org):
    customer = CustomerFactory(organization=org)
    for n in range(5):
        contact_create(
            organization=org, customer=customer, external_id=f"C-{n}", email=f"{n}@b.example", actor=actor()
        )

    first = api.get(CHANGES_FEED, {"limit": 2}).json()
    second = api.get(CHANGES_FEED, {"cursor": first["cursor"], "limit": 2}).json()
    third = api.get(CHANGES_FEED, {"cursor": second["cursor"], "limit": 2}).json()
    empty = api.get(CHANGES_FEED, {"cursor": third["cursor"]}).json()
    contact_create(
        organization=org, customer=customer, external_id="C-LATE", email="late@b.example", actor=actor()
    )
    late = api.get(CHANGES_FEED, {"cursor": empty["cursor"]}).json()

    codes = [[e["externalId"] for e in page["events"]] for page in (first, second, third, empty, late)]
    assert codes == [["C-0", "C-1"], ["C-2", "C-3"], ["C-4"], [], ["C-LATE"]]
    assert [page["hasMore"] for page in (first, second, third, empty)] == [True, True, False, False]
    assert empty["cursor"] == third["cursor"]


def test_a_cursor_is_the_same_for_the_same_position_whenever_it_is_made(org, monkeypatch):
    first = encode_cursor(org.pk, 5)
    monkeypatch.setattr("time.time", lambda: 4_000_000_000.0)  # a later second, in 2096

    assert encode_cursor(org.pk, 5) == first


def test_a_cursor_handed_out_with_a_timestamp_before_still_pages(api, org):
    customer = CustomerFactory(organization=org)
    for n in range(3):
        contact_create(
            organization=org, customer=customer, external_id=f"C-{n}", email=f"{n}@b.example", actor=actor()
        )
    seq = ContactChange.objects.get(external_id="C-0").seq
    earlier = signing.dumps([org.pk, seq], salt=CURSOR_SALT, compress=False)

    page = api.get(CHANGES_FEED, {"cursor": earlier}).json()

    assert [event["externalId"] for event in page["events"]] == ["C-1", "C-2"]


def test_since_starts_the_first_call_at_that_time(api, org):
    customer = CustomerFactory(organization=org)
    contact_create(
        organization=org, customer=customer, external_id="OLD", email="old@b.example", actor=actor()
    )
    ContactChange.objects.update(at=timezone.now() - datetime.timedelta(days=2))
    contact_create(
        organization=org, customer=customer, external_id="NEW", email="new@b.example", actor=actor()
    )
    since = (
        (timezone.now() - datetime.timedelta(days=1)).astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )

    page = api.get(CHANGES_FEED, {"since": since}).json()
    future = api.get(CHANGES_FEED, {"since": "2999-01-01T00:00:00Z"}).json()

    assert [e["externalId"] for e in page["events"]] == ["NEW"]
    assert future["events"] == []
    contact_create(
        organization=org, customer=customer, external_id="NEXT", email="next@b.example", actor=actor()
    )
    assert [
        e["externalId"] for e in api.get(CHANGES_FEED, {"cursor": future["cursor"]}).json()["events"]
    ] == ["NEXT"]


@pytest.mark.parametrize("cursor", ["nonsense", "WzEsIDJd:forged", "WzEsIDJd:1tQxyz:abc"])
def test_a_cursor_that_did_not_come_from_the_feed_is_a_400(api, cursor):
    response = api.get(CHANGES_FEED, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["errors"]["cursor"] == [str(INVALID_CURSOR)]


def test_another_organizations_cursor_is_a_400_and_its_events_are_never_shown(api, org, other_org):
    other_customer = CustomerFactory(organization=other_org)
    contact_create(
        organization=other_org,
        customer=other_customer,
        external_id="THEIRS",
        email="t@b.example",
        actor=actor(),
    )

    theirs = api.get(CHANGES_FEED, {"cursor": encode_cursor(other_org.pk, 0)})
    mine = api.get(CHANGES_FEED).json()

    assert (theirs.status_code, theirs.json()["errors"]["cursor"]) == (400, [str(INVALID_CURSOR)])
    assert mine["events"] == []


def test_since_and_cursor_together_is_a_400(api, org):
    cursor = api.get(CHANGES_FEED).json()["cursor"]

    response = api.get(CHANGES_FEED, {"cursor": cursor, "since": "2026-01-01T00:00:00Z"})

    assert response.status_code == 400
    assert str(SINCE_AND_CURSOR) in response.json()["message"]


def test_an_erased_contact_is_a_deletion_without_its_personal_values(api, org):
    contact = ContactFactory(customer__organization=org, external_id="P-1")
    contact_update(contact=contact, actor=actor(), first_name="Anne")

    contact_erase(organization=org, external_id="P-1", actor=actor("command"))
    events = api.get(CHANGES_FEED).json()["events"]

    assert [(e["event"], e["values"]) for e in events] == [("updated", {"firstName": None}), ("deleted", {})]


def test_a_mirror_built_from_the_feed_equals_the_database_after_admin_import_api_and_undo_writes(
    api, org, settings
):
    """Each kind of write, with a poll of the feed between some of them, as a syncing client would."""
    settings.CONTACT_IMPORTS_PER_MONTH = 10
    customer = CustomerFactory(organization=org, external_id="CUST-1")
    mirror: dict = {}
    cursor = follow_feed(api, mirror)
    # the admin
    admin = staff_client("add_contact", "change_contact", "delete_contact", "view_contact")
    admin.post(
        reverse("admin:contacts_contact_add"),
        {"customer": customer.pk, "external_id": "ADM-1", "email": "adm@b.example", "is_main": "on"},
    )
    # an import that updates the admin's contact, demotes it and creates two
    rows = [
        contact_row(customer, "ADM-1", "adm@b.example", last_name="Imported"),
        contact_row(customer, "IMP-1", "imp1@b.example", is_main="1"),
        contact_row(customer, "IMP-2", "imp2@b.example", phone="06 12 34 56 78"),
    ]
    first = commit_import(organization=org, data=csv_bytes(rows), filename="a.csv", user=UserFactory()).batch
    cursor = follow_feed(api, mirror, cursor)
    # the API, single and bulk
    base = f"/api/v1/customers/{customer.pk}/contacts"
    api.put(f"{base}/external:API-1", {"email": "api1@b.example", "isMain": True})
    api.patch(f"{base}/external:IMP-2", {"position": "SALES"})
    api.post(
        "/api/v1/contacts/bulk",
        [{"customerExternalId": "CUST-1", "externalId": "BLK-1", "email": "b@b.example"}],
    )
    cursor = follow_feed(api, mirror, cursor)
    # a second import, undone; then the admin deletes a contact
    rows = [
        contact_row(customer, "IMP-1", "imp1@b.example", first_name="Again"),
        contact_row(customer, "U-1", "u@b.example"),
    ]
    second = commit_import(organization=org, data=csv_bytes(rows), filename="b.csv").batch
    import_undo(organization=org, batch_id=second.pk, actor=actor("undo"))
    admin.post(
        reverse("admin:contacts_contact_delete", args=[Contact.objects.get(external_id="BLK-1").pk]),
        {"post": "yes"},
    )
    follow_feed(api, mirror, cursor)

    assert mirror == contacts_as_mirrored(org)
    assert first.pk != second.pk
    assert sorted(c["externalId"] for c in mirror.values()) == ["ADM-1", "API-1", "IMP-1", "IMP-2"]
    assert {"admin", "import", "api", "undo"} <= set(ContactChange.objects.values_list("channel", flat=True))


def test_a_created_event_carries_every_field_of_the_contact_as_get_shows_it(api, org):
    customer = CustomerFactory(organization=org, external_id="CUST-1")
    created = api.put(
        f"/api/v1/customers/{customer.pk}/contacts/external:K-1",
        {
            "email": "a@b.example",
            "firstName": "Ann",
            "phone": "06 12 34 56 78",
            "position": "SALES",
            "isMain": True,
        },
        format="json",
    ).json()
    bulk = api.post(
        "/api/v1/contacts/bulk",
        [{"customerExternalId": "CUST-1", "externalId": "K-2", "email": "b@b.example"}],
        format="json",
    ).json()["results"][0]["contact"]

    events = [e for e in api.get(CHANGES_FEED).json()["events"] if e["event"] == "created"]

    for event, contact in zip(events, (created, bulk), strict=True):
        read = api.get(f"/api/v1/customers/{customer.pk}/contacts/{contact['id']}").json()
        assert set(event["values"]) == set(read)
        # updatedAt: as the contact was created (a later change is an event of its own).
        assert event["values"] == read | {"updatedAt": read["createdAt"]}
    assert {"id", "customerExternalId", "createdAt", "updatedAt"} <= set(events[0]["values"])


def test_a_created_event_of_a_contact_deleted_since_keeps_the_shape(api, org):
    customer = CustomerFactory(organization=org, external_id="CUST-1")
    created = api.post(
        f"/api/v1/customers/{customer.pk}/contacts",
        {"externalId": "K-1", "email": "a@b.example"},
        format="json",
    ).json()
    api.delete(f"/api/v1/customers/{customer.pk}/contacts/{created['id']}")

    event = api.get(CHANGES_FEED).json()["events"][0]

    assert event["event"] == "created"
    assert set(event["values"]) == set(created)
    assert {k: v for k, v in event["values"].items() if k not in ("createdAt", "updatedAt")} == {
        k: v for k, v in created.items() if k not in ("createdAt", "updatedAt")
    }
