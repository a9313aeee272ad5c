import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from contacts.models import (
    EMAIL_TAKEN,
    EXTERNAL_ID_TAKEN,
    MAIN_CONTACT_CONSTRAINT,
    WRONG_ORGANIZATION,
    Contact,
)
from contacts.normalization import INVALID_PHONE
from contacts.services.contacts import (
    CONTACT_CHANGED,
    CONTACT_NOT_THERE,
    CONTACTS_SYNCED,
    CUSTOMER_OF_ANOTHER_ORGANIZATION,
    MAIN_CONTACT_CONFLICT,
    ONLY_OCCUPATION_WHILE_SYNCED,
    contact_create,
    contact_delete,
    contact_make_main,
    contact_update,
    contact_upsert,
    contact_version,
    integrity_error_message,
    integrity_validation_error,
)
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import actor

pytestmark = pytest.mark.django_db


def create(customer, **values):
    values.setdefault("external_id", "C-NEW")
    values.setdefault("email", "new@client.example")
    return contact_create(organization=customer.organization, customer=customer, actor=actor(), **values)


def test_created_contact_has_normalized_email_and_phone(org):
    customer = CustomerFactory(organization=org)

    contact = create(
        customer, email="  Jane.Doe@Client.EXAMPLE ", phone="06 12 34 56 78", first_name=" Jane "
    )

    contact.refresh_from_db()
    assert (contact.email, contact.phone, contact.first_name) == (
        "jane.doe@client.example",
        "+33612345678",
        "Jane",
    )
    assert contact.organization == org
    assert contact.source == Contact.Source.MANUAL


def test_phone_is_read_in_the_organization_default_region():
    customer = CustomerFactory(organization=OrganizationFactory(default_phone_region="GB"))

    contact = create(customer, phone="020 7946 0958")

    assert contact.phone == "+442079460958"


def test_unparseable_phone_is_refused_and_nothing_is_written(org):
    customer = CustomerFactory(organization=org)

    with pytest.raises(ValidationError) as error:
        create(customer, phone="12")

    assert error.value.message_dict == {"phone": [INVALID_PHONE.format(value="12")]}
    assert not Contact.objects.exists()


def test_second_main_contact_demotes_the_first(org):
    customer = CustomerFactory(organization=org)
    first = ContactFactory(customer=customer, is_main=True)
    second = ContactFactory(customer=customer)

    contact_make_main(contact=second, actor=actor())

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_main, second.is_main) == (False, True)


def test_creating_a_main_contact_demotes_the_current_main(org):
    customer = CustomerFactory(organization=org)
    first = ContactFactory(customer=customer, is_main=True)

    created = create(customer, is_main=True)

    first.refresh_from_db()
    assert (first.is_main, created.is_main) == (False, True)


def test_demotion_leaves_other_customers_main_contacts_alone(org):
    customer = CustomerFactory(organization=org)
    elsewhere = ContactFactory(customer__organization=org, is_main=True)

    create(customer, is_main=True)

    elsewhere.refresh_from_db()
    assert elsewhere.is_main


def test_duplicate_email_for_the_same_customer_is_a_validation_error(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, email="jane@client.example")

    with pytest.raises(ValidationError) as error:
        create(customer, email="JANE@client.example")

    assert EMAIL_TAKEN in error.value.messages
    assert Contact.objects.filter(customer=customer).count() == 1


def test_duplicate_identifier_code_in_the_organization_is_a_validation_error(org):
    ContactFactory(customer__organization=org, external_id="C-1")
    customer = CustomerFactory(organization=org)

    with pytest.raises(ValidationError) as error:
        create(customer, external_id="C-1")

    assert EXTERNAL_ID_TAKEN in error.value.messages
    assert Contact.objects.filter(external_id="C-1").count() == 1


def test_contact_of_a_synced_organization_cannot_be_created(synced_org):
    customer = CustomerFactory(organization=synced_org)

    with pytest.raises(ValidationError) as error:
        create(customer)

    assert error.value.messages == [CONTACTS_SYNCED.format(organization=synced_org.name)]
    assert not Contact.objects.exists()


def test_contact_of_a_synced_organization_cannot_be_changed_or_deleted(synced_org):
    contact = ContactFactory(customer__organization=synced_org, first_name="Before")

    with pytest.raises(ValidationError):
        contact_update(contact=contact, actor=actor(), first_name="After")
    with pytest.raises(ValidationError):
        contact_delete(contact=contact, actor=actor())

    contact.refresh_from_db()
    assert contact.first_name == "Before"


def test_the_occupation_of_a_synced_organizations_contact_can_change(synced_org):
    contact = ContactFactory(customer__organization=synced_org, occupation="")

    contact_update(actor=actor(), contact=contact, occupation="PAYER")

    contact.refresh_from_db()
    assert contact.occupation == "PAYER"


def test_nothing_but_the_occupation_changes_while_synced(synced_org):
    contact = ContactFactory(customer__organization=synced_org, first_name="Before", occupation="")

    with pytest.raises(ValidationError) as error:
        contact_update(actor=actor(), contact=contact, occupation="SALES", first_name="After", is_main=True)

    fields = "first name, main contact"
    expected = ONLY_OCCUPATION_WHILE_SYNCED.format(organization=synced_org.name, fields=fields)
    assert error.value.messages == [expected]
    assert error.value.code == "contacts_synced"
    contact.refresh_from_db()
    assert (contact.first_name, contact.occupation, contact.is_main) == ("Before", "", False)


def test_an_upsert_of_a_synced_contact_changes_its_occupation_but_creates_nothing(synced_org):
    contact = ContactFactory(customer__organization=synced_org, occupation="")
    customer = contact.customer

    updated, created = contact_upsert(
        actor=actor(),
        organization=synced_org,
        customer=customer,
        external_id=contact.external_id,
        values={"occupation": "SALES", "email": contact.email},
    )
    with pytest.raises(ValidationError) as error:
        contact_upsert(
            actor=actor(),
            organization=synced_org,
            customer=customer,
            external_id="NEW",
            values={"occupation": "SALES", "email": "new@client.example"},
        )

    assert (updated.occupation, created) == ("SALES", False)
    assert error.value.messages == [CONTACTS_SYNCED.format(organization=synced_org.name)]
    assert Contact.objects.count() == 1


def test_the_version_changes_with_any_stored_value(org):
    contact = ContactFactory(customer__organization=org)
    before = contact_version(contact)

    contact_update(actor=actor(), contact=contact, phone="06 12 34 56 78")

    assert contact_version(Contact.objects.get(pk=contact.pk)) != before
    assert contact_version(Contact.objects.get(pk=contact.pk)) == contact_version(contact)


def test_a_write_expecting_a_version_the_contact_no_longer_has_changes_nothing(org):
    contact = ContactFactory(customer__organization=org, first_name="Before")
    read = contact_version(contact)
    contact_update(actor=actor(), contact=contact, last_name="Meanwhile")

    with pytest.raises(ValidationError) as changing:
        contact_update(actor=actor(), contact=contact, expected_versions=[read], first_name="After")
    with pytest.raises(ValidationError) as deleting:
        contact_delete(actor=actor(), contact=contact, expected_versions=[read])

    assert changing.value.messages == deleting.value.messages == [CONTACT_CHANGED]
    assert changing.value.code == "stale"
    contact.refresh_from_db()
    assert contact.first_name == "Before"


def test_a_write_expecting_the_current_version_or_any_goes_through(org):
    contact = ContactFactory(customer__organization=org)

    contact_update(
        actor=actor(), contact=contact, expected_versions=[contact_version(contact)], first_name="One"
    )
    contact_update(actor=actor(), contact=contact, expected_versions=["*"], first_name="Two")

    contact.refresh_from_db()
    assert contact.first_name == "Two"


def test_an_upsert_expecting_a_version_never_creates(org):
    customer = CustomerFactory(organization=org)

    with pytest.raises(ValidationError) as error:
        contact_upsert(
            actor=actor(),
            organization=org,
            customer=customer,
            external_id="NEW",
            values={"email": "new@client.example"},
            expected_versions=["*"],
        )

    assert error.value.messages == [CONTACT_NOT_THERE]
    assert not Contact.objects.exists()


def test_the_occupation_of_a_synced_organizations_contact_may_still_change(synced_org):
    # The stored phone is the invoicing system's, even one the rules would refuse: it is left alone.
    contact = ContactFactory(customer__organization=synced_org, occupation="SALES", phone="n/a")
    before = Contact.objects.values().get(pk=contact.pk)

    contact_update(actor=actor(), contact=contact, occupation="PAYER")

    after = Contact.objects.values().get(pk=contact.pk)
    assert (after["occupation"], contact.occupation) == ("PAYER", "PAYER")
    assert after["updated_at"] > before["updated_at"]
    assert {k: v for k, v in after.items() if k not in ("occupation", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("occupation", "updated_at")
    }


def test_a_synced_contact_change_beyond_the_occupation_is_refused_whole(synced_org):
    contact = ContactFactory(customer__organization=synced_org, occupation="SALES", first_name="Before")

    with pytest.raises(ValidationError) as error:
        contact_update(actor=actor(), contact=contact, occupation="PAYER", first_name="After")

    message = ONLY_OCCUPATION_WHILE_SYNCED.format(organization=synced_org.name, fields="first name")
    assert error.value.messages == [message]
    contact.refresh_from_db()
    assert (contact.occupation, contact.first_name) == ("SALES", "Before")


def test_an_unknown_occupation_is_refused_for_a_synced_contact_too(synced_org):
    contact = ContactFactory(customer__organization=synced_org, occupation="SALES")

    with pytest.raises(ValidationError) as error:
        contact_update(actor=actor(), contact=contact, occupation="CEO")

    assert "occupation" in error.value.message_dict
    contact.refresh_from_db()
    assert contact.occupation == "SALES"


def test_customer_of_another_organization_is_refused(org):
    foreign_customer = CustomerFactory()

    with pytest.raises(ValidationError) as error:
        contact_create(
            organization=org, customer=foreign_customer, external_id="C-1", email="a@b.example", actor=actor()
        )

    assert error.value.message_dict == {"customer": [CUSTOMER_OF_ANOTHER_ORGANIZATION]}


def test_clean_refuses_an_organization_other_than_the_customer_one(org):
    contact = Contact(organization=org, customer=CustomerFactory(), external_id="C-1", email="a@b.example")

    with pytest.raises(ValidationError) as error:
        contact.full_clean()

    assert error.value.message_dict["customer"] == [WRONG_ORGANIZATION]


def test_update_changes_only_the_given_fields(org):
    contact = ContactFactory(customer__organization=org, first_name="Jane", last_name="Doe")

    contact_update(contact=contact, actor=actor(), last_name="Smith")

    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("Jane", "Smith")


def test_update_refuses_fields_that_are_not_editable(org):
    contact = ContactFactory(customer__organization=org)

    with pytest.raises(TypeError):
        contact_update(contact=contact, actor=actor(), source="api")


def test_delete_removes_the_contact(org):
    contact = ContactFactory(customer__organization=org)

    contact_delete(contact=contact, actor=actor())

    assert not Contact.objects.filter(pk=contact.pk).exists()


@pytest.mark.parametrize(
    ("database_message", "expected"),
    [
        ('duplicate key value violates unique constraint "contact_email_unique_per_customer"', EMAIL_TAKEN),
        ("UNIQUE constraint failed: index 'contact_email_unique_per_customer'", EMAIL_TAKEN),
        (
            'duplicate key value violates unique constraint "contact_external_id_unique_per_org"',
            EXTERNAL_ID_TAKEN,
        ),
        (
            "UNIQUE constraint failed: contacts_contact.organization_id, contacts_contact.external_id",
            EXTERNAL_ID_TAKEN,
        ),
        (
            'duplicate key value violates unique constraint "one_main_contact_per_customer"',
            MAIN_CONTACT_CONFLICT,
        ),
        ("UNIQUE constraint failed: contacts_contact.customer_id", MAIN_CONTACT_CONFLICT),
    ],
)
def test_database_refusals_become_readable_messages(database_message, expected):
    assert integrity_error_message(IntegrityError(database_message)) == expected


def test_unknown_database_refusals_are_not_disguised():
    error = IntegrityError("NOT NULL constraint failed: contacts_contact.email")

    with pytest.raises(IntegrityError):
        integrity_error_message(error)


@pytest.mark.parametrize(
    ("database_says", "code", "message"),
    [
        (
            "UNIQUE constraint failed: contacts_contact.organization_id, contacts_contact.external_id",
            "unique",
            EXTERNAL_ID_TAKEN,
        ),
        (
            'duplicate key value violates unique constraint "contact_email_unique_per_customer"',
            "unique",
            EMAIL_TAKEN,
        ),
        (
            f'duplicate key value violates unique constraint "{MAIN_CONTACT_CONSTRAINT}"',
            "conflict",
            MAIN_CONTACT_CONFLICT,
        ),
    ],
)
def test_a_value_taken_meanwhile_is_a_validation_error_and_two_mains_a_conflict(database_says, code, message):
    error = integrity_validation_error(IntegrityError(database_says))

    assert (error.code, error.messages) == (code, [message])


def test_an_update_that_changes_no_unique_field_checks_no_uniqueness_before_writing(
    org, django_assert_num_queries
):
    contact = ContactFactory(customer__organization=org)

    # Lock the customer, read the contact again, UPDATE, take the change counter, write the log entry;
    # and the savepoints of two atomic blocks.
    with django_assert_num_queries(9):
        contact_update(actor=actor(), contact=contact, first_name="Quick")


def test_an_update_to_a_taken_email_is_refused_before_writing(org):
    contact = ContactFactory(customer__organization=org)
    ContactFactory(customer=contact.customer, email="taken@client.example")

    with pytest.raises(ValidationError) as error:
        contact_update(actor=actor(), contact=contact, email="TAKEN@client.example", phone="12")

    # As full_clean says it: the rule on lower(email) is the model's, not one field's.
    assert error.value.message_dict == {
        "__all__": [EMAIL_TAKEN],
        "phone": [INVALID_PHONE.format(value="12")],
    }


def _count_guard_and_lock(monkeypatch) -> list[str]:
    """The names of the guard and lock functions the service calls, in order, as it calls them."""
    import contacts.services.contacts as service

    calls: list[str] = []

    def counting(name, real):
        def counted(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return counted

    for name in ("lock_customer", "ensure_contacts_managed"):
        monkeypatch.setattr(service, name, counting(name, getattr(service, name)))
    return calls


def test_an_upsert_that_creates_locks_the_customer_and_checks_the_guard_once(org, monkeypatch):
    calls = _count_guard_and_lock(monkeypatch)
    customer = CustomerFactory(organization=org)

    contact, created = contact_upsert(
        actor=actor(),
        organization=org,
        customer=customer,
        external_id="NEW",
        values={"email": "new@client.example", "is_main": True},
    )

    assert created
    assert calls == ["lock_customer", "ensure_contacts_managed"]
    assert Contact.objects.get() == contact
    assert (contact.external_id, contact.is_main) == ("NEW", True)


def test_a_create_checks_the_guard_then_locks_the_customer_once(org, monkeypatch):
    calls = _count_guard_and_lock(monkeypatch)

    create(CustomerFactory(organization=org))

    assert calls == ["ensure_contacts_managed", "lock_customer"]
