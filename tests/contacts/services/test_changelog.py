"""The change log: every write service records its entries, in its transaction, with the caller's actor."""

import itertools

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contacts.importing.pipeline import commit_import
from contacts.models import Contact, ContactChange
from contacts.services import changelog
from contacts.services.bulk import contacts_bulk_upsert
from contacts.services.changelog import Actor
from contacts.services.contacts import contact_create, contact_delete, contact_update
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import actor, bulk_row, contact_row, csv_bytes

pytestmark = pytest.mark.django_db


def entries(org) -> list[tuple]:
    return list(
        ContactChange.objects.filter(organization=org)
        .order_by("seq")
        .values_list("seq", "external_id", "action", "channel", "actor", "before", "after")
    )


def test_creating_records_every_value_with_who_and_the_channel(org):
    customer = CustomerFactory(organization=org)
    staff = UserFactory(username="lea")

    contact = contact_create(
        organization=org,
        customer=customer,
        external_id="C-1",
        email="Ann@Client.Example",
        first_name="Ann",
        actor=Actor.staff(staff),
    )

    entry = ContactChange.objects.get()
    assert (entry.contact_id, entry.customer_id, entry.organization_id) == (contact.pk, customer.pk, org.pk)
    assert (entry.action, entry.channel, entry.user, entry.actor, entry.batch) == (
        "created",
        "admin",
        staff,
        "lea",
        None,
    )
    assert entry.before is None
    assert entry.after == {
        "external_id": "C-1",
        "email": "ann@client.example",
        "first_name": "Ann",
        "last_name": "",
        "phone": "",
        "occupation": "",
        "is_main": False,
        "source": "manual",
    }


def test_an_update_records_the_changed_fields_old_and_new_and_the_channel_becomes_the_source(org):
    contact = ContactFactory(customer__organization=org, first_name="Ann", last_name="Lee")

    contact_update(contact=contact, actor=actor("api"), first_name="Anne", last_name="Lee")

    assert entries(org) == [
        (1, contact.external_id, "updated", "api", "tests", {"first_name": "Ann", "source": "manual"},
         {"first_name": "Anne", "source": "api"}),
    ]  # fmt: skip
    contact.refresh_from_db()
    assert contact.source == "api"


def test_an_update_that_changes_nothing_records_nothing(org):
    contact = ContactFactory(customer__organization=org, first_name="Ann")

    contact_update(contact=contact, actor=actor(), first_name=" Ann ")

    assert ContactChange.objects.count() == 0


def test_a_deletion_keeps_the_contacts_id_code_and_values_in_the_log(org):
    contact = ContactFactory(customer__organization=org, external_id="C-9", email="gone@b.example")
    contact_id = contact.pk

    contact_delete(contact=contact, actor=actor("api"))

    entry = ContactChange.objects.get()
    assert (entry.contact_id, entry.external_id, entry.action, entry.after) == (
        contact_id,
        "C-9",
        "deleted",
        None,
    )
    assert entry.before["email"] == "gone@b.example"
    assert not Contact.objects.filter(pk=contact_id).exists()


def test_a_new_main_contact_records_the_demotion_and_the_service_reports_it(org):
    customer = CustomerFactory(organization=org)
    current = ContactFactory(customer=customer, is_main=True)
    other = ContactFactory(customer=customer)

    promoted = contact_update(contact=other, actor=actor("api"), is_main=True)

    current.refresh_from_db()
    assert [c.pk for c in promoted.demoted] == [current.pk]
    assert (current.is_main, current.source) == (False, "api")
    assert [(e[1], e[2]) for e in entries(org)] == [
        (current.external_id, "demoted"),
        (other.external_id, "updated"),
    ]
    demotion = ContactChange.objects.get(action="demoted")
    assert (demotion.before, demotion.after) == (
        {"is_main": True, "source": "manual"},
        {"is_main": False, "source": "api"},
    )


def test_a_refused_write_records_nothing(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-1")

    with pytest.raises(ValidationError):
        contact_create(
            organization=org, customer=customer, external_id="C-1", email="a@b.example", actor=actor()
        )

    assert ContactChange.objects.count() == 0


def test_an_import_records_one_entry_per_contact_written_with_its_batch_in_bulk(org):
    customer = CustomerFactory(organization=org)
    existing = ContactFactory(customer=customer, email="old@b.example")
    data = csv_bytes(
        [
            contact_row(customer, existing.external_id, "new@b.example"),
            contact_row(customer, "C-NEW", "c@b.example"),
        ]
    )

    batch = commit_import(
        organization=org, data=data, filename="c.csv", user=UserFactory(username="sam")
    ).batch

    assert sorted(
        (e.external_id, e.action, e.channel, e.actor, e.batch_id) for e in ContactChange.objects.all()
    ) == [
        ("C-NEW", "created", "import", "sam", batch.pk),
        (existing.external_id, "updated", "import", "sam", batch.pk),
    ]


def test_a_bulk_api_call_records_its_entries_with_the_api_keys_name(org):
    customer = CustomerFactory(organization=org)
    key = type("Key", (), {"name": "Zapier", "prefix": "AbC123"})()

    contacts_bulk_upsert(
        organization=org, rows=[bulk_row(0, customer, "C-1", "a@b.example")], actor=Actor.api_key(key)
    )

    entry = ContactChange.objects.get()
    assert (entry.channel, entry.actor, entry.action, entry.user) == (
        "api",
        "Zapier (AbC123)",
        "created",
        None,
    )


def test_change_numbers_follow_each_other_per_organization_without_gaps():
    first, second = OrganizationFactory(), OrganizationFactory()
    customers = {org: CustomerFactory(organization=org) for org in (first, second)}

    for n in range(3):
        for org in (first, second):
            rows = [bulk_row(i, customers[org], f"C-{n}-{i}", f"{n}.{i}@b.example") for i in range(2)]
            contacts_bulk_upsert(organization=org, rows=rows, actor=actor("api"))

    for org in (first, second):
        assert [e[0] for e in entries(org)] == [1, 2, 3, 4, 5, 6]


def test_a_failed_write_gives_its_change_numbers_back(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="TAKEN")
    contact_create(organization=org, customer=customer, external_id="C-1", email="a@b.example", actor=actor())

    with pytest.raises(ValidationError):
        contact_create(
            organization=org, customer=customer, external_id="TAKEN", email="b@b.example", actor=actor()
        )
    contact_create(organization=org, customer=customer, external_id="C-2", email="c@b.example", actor=actor())

    assert [e[0] for e in entries(org)] == [1, 2]


def test_allocate_reserves_consecutive_numbers(org):
    assert changelog.allocate(org.pk, 3) == 1
    assert changelog.allocate(org.pk, 1) == 4
    assert changelog.allocate(OrganizationFactory().pk, 2) == 1


codes = itertools.count()  # the examples share the test's database transaction
# Stored text of any kind but what no database keeps (NUL) and what is not text (lone surrogates).
stored_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@given(
    values=st.lists(
        st.fixed_dictionaries(
            {
                "first_name": stored_text,
                "last_name": stored_text,
                "phone": st.sampled_from(["", "+33612345678"]),
                "occupation": st.sampled_from(["", *Contact.Occupation.values]),
                "is_main": st.booleans(),
                "source": st.sampled_from(Contact.Source.values),
            }
        ),
        min_size=1,
        max_size=4,
    )
)
@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_creations_built_by_the_database_record_what_the_python_entry_records(org, values):
    """The bulk write's fast path (json_object / jsonb_build_object) against changelog.created."""
    contacts = [
        ContactFactory(customer=CustomerFactory(organization=org), external_id=f'C-"{next(codes)}\\', **one)
        for one in values
    ]

    changelog.record([], created_ids=[c.pk for c in contacts], organization_id=org.pk, actor=actor("import"))

    built = dict(ContactChange.objects.filter(contact__in=contacts).values_list("contact_id", "after"))
    assert built == {c.pk: changelog.created(c).after for c in contacts}
    ContactChange.objects.all().delete()
