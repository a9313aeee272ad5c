"""The change log in the admin: a contact's History (a deleted one's too) and the Changes list."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.admin.contacts import DELETED_CONTACT, NO_HISTORY
from contacts.importing.pipeline import commit_import
from contacts.models import Contact, ContactChange
from contacts.services.contacts import contact_create, contact_delete, contact_update
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import actor, contact_row, csv_bytes, staff_client

pytestmark = pytest.mark.django_db

CHANGES = reverse("admin:contacts_contactchange_changelist")


def history(contact_id: int) -> str:
    return reverse("admin:contacts_contact_history", args=[contact_id])


def rows_of(content: str) -> list[str]:
    body = content[content.index("<tbody>") : content.index("</tbody>")]
    return body.split("<tr")[1:]


def test_the_history_lists_every_channel_newest_first_with_who_and_the_import(org):
    customer = CustomerFactory(organization=org)
    data = csv_bytes([contact_row(customer, "C-1", "ann@client.example", last_name="Lee")])
    batch = commit_import(
        organization=org, data=data, filename="c.csv", user=UserFactory(username="importer")
    ).batch
    contact = Contact.objects.get()
    contact_update(contact=contact, actor=actor("api", name="Zapier (AbC123)"), last_name="Lee-Roux")
    viewer = staff_client("view_contact")

    response = viewer.get(history(contact.pk))

    assert response.status_code == 200
    content = response.content.decode()
    updated, created = rows_of(content)
    assert "Zapier (AbC123)" in updated
    assert "API" in updated
    assert "last name: Lee → Lee-Roux" in updated
    assert "importer" in created
    assert "email: ann@client.example" in created
    assert reverse("admin:contacts_importbatch_change", args=[batch.pk]) in created
    assert "have a change history" not in content


def test_a_deleted_contacts_history_is_still_shown(org):
    contact = ContactFactory(customer__organization=org, external_id="C-GONE")
    contact_id = contact.pk
    contact_delete(contact=contact, actor=actor())

    response = staff_client("view_contact").get(history(contact_id))

    content = response.content.decode()
    assert response.status_code == 200
    assert str(DELETED_CONTACT % {"code": "C-GONE", "id": contact_id}) in content
    assert "Deleted" in rows_of(content)[0]


def test_a_contact_from_before_the_log_says_so_and_an_unknown_id_redirects(org):
    contact = ContactFactory(customer__organization=org)
    viewer = staff_client("view_contact")

    known = viewer.get(history(contact.pk))
    unknown = viewer.get(history(999_999))

    assert str(NO_HISTORY) in known.content.decode()
    assert unknown.status_code == 302


def test_the_history_needs_the_contact_view_permission(org):
    contact = ContactFactory(customer__organization=org)

    assert staff_client().get(history(contact.pk)).status_code == 403


def test_the_changes_list_filters_by_organization_channel_and_user_and_searches_code_or_email():
    first, second = OrganizationFactory(), OrganizationFactory()
    lea = UserFactory(username="lea")
    for org, code in ((first, "A-1"), (second, "B-1")):
        customer = CustomerFactory(organization=org)
        contact_create(
            organization=org,
            customer=customer,
            external_id=code,
            email=f"{code}@x.example",
            actor=actor(user=lea),
        )
    contact_update(contact=Contact.objects.get(external_id="B-1"), actor=actor("api"), first_name="Bo")
    viewer = staff_client("view_contactchange")

    def codes(**query) -> list[str]:
        response = viewer.get(CHANGES, query)
        assert response.status_code == 200
        return [entry.external_id for entry in response.context["cl"].result_list]

    assert codes() == ["B-1", "B-1", "A-1"]
    assert codes(organization__id__exact=first.pk) == ["A-1"]
    assert codes(channel__exact="api") == ["B-1"]
    assert codes(user__id__exact=lea.pk) == ["B-1", "A-1"]
    assert codes(q="a-1@x.example") == ["A-1"]
    assert codes(q="B-") == ["B-1", "B-1"]
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today = {"at__gte": str(midnight), "at__lt": str(midnight + datetime.timedelta(days=1))}  # "Today"
    assert len(codes(**today)) == 3


def test_the_changes_list_is_read_only(org):
    contact_create(
        organization=org,
        customer=CustomerFactory(organization=org),
        external_id="C-1",
        email="a@b.example",
        actor=actor(),
    )
    entry = ContactChange.objects.get()
    admin_client = staff_client()
    admin_client.user.is_superuser = True
    admin_client.user.save()

    assert admin_client.get(reverse("admin:contacts_contactchange_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:contacts_contactchange_delete", args=[entry.pk])).status_code == 403
    )
    assert ContactChange.objects.count() == 1


def test_searching_an_email_finds_every_change_of_the_contacts_that_had_it(org):
    customer = CustomerFactory(organization=org)
    kept = contact_create(
        organization=org, customer=customer, external_id="K-1", email="ann@x.example", actor=actor()
    )
    contact_update(contact=kept, actor=actor(), last_name="Lee")
    gone = contact_create(
        organization=org, customer=customer, external_id="K-2", email="bob@x.example", actor=actor()
    )
    contact_update(contact=gone, actor=actor(), first_name="Bob")
    contact_delete(contact=Contact.objects.get(pk=gone.pk), actor=actor())
    contact_create(
        organization=org, customer=customer, external_id="K-3", email="eve@x.example", actor=actor()
    )
    viewer = staff_client("view_contactchange")

    def found(term: str) -> list[tuple[str, str]]:
        response = viewer.get(CHANGES, {"q": term})
        return [(e.external_id, e.action) for e in response.context["cl"].result_list]

    assert found("ANN@x.example") == [("K-1", "updated"), ("K-1", "created")]
    assert found("bob@") == [("K-2", "deleted"), ("K-2", "updated"), ("K-2", "created")]
    assert found("K-3") == [("K-3", "created")]


def test_the_customer_pages_deleted_contacts_query_uses_the_customer_index(org):
    customer = CustomerFactory(organization=org)
    contact_delete(contact=ContactFactory(customer=customer), actor=actor())
    viewer = staff_client("view_contactchange")

    with CaptureQueriesContext(connection) as queries:
        viewer.get(f"{CHANGES}?customer__id__exact={customer.pk}&action__in=deleted,erased")

    [listing] = [q["sql"] for q in queries if q["sql"].startswith('SELECT "contacts_contactchange"."id"')]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {listing}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {listing}")
        plan = str(cursor.fetchall())
    assert "contact_change_deleted_idx" in plan


def test_the_user_filter_lists_staff_users_without_scanning_the_log(org):
    lea = UserFactory(username="lea")
    UserFactory(username="customer-portal", is_staff=False)
    contact_create(
        organization=org,
        customer=CustomerFactory(organization=org),
        external_id="C-1",
        email="a@b.example",
        actor=actor(user=lea),
    )
    viewer = staff_client("view_contactchange")

    with CaptureQueriesContext(connection) as queries:
        response = viewer.get(CHANGES)

    [user_filter] = [f for f in response.context["cl"].filter_specs if f.field_path == "user"]
    names = [name for _pk, name in user_filter.lookup_choices]
    assert "lea" in names
    assert "customer-portal" not in names
    assert not [q for q in queries if "DISTINCT" in q["sql"] and "contacts_contactchange" in q["sql"]]
