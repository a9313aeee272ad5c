import pytest
from django.db import IntegrityError, transaction

from contacts.models import Contact
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_two_main_contacts_inserted_directly_raise_integrity_error():
    customer = CustomerFactory()
    ContactFactory(customer=customer, is_main=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(customer=customer, is_main=True)

    assert Contact.objects.filter(customer=customer, is_main=True).count() == 1


def test_main_contacts_of_different_customers_coexist():
    ContactFactory(is_main=True)
    ContactFactory(is_main=True)

    assert Contact.objects.filter(is_main=True).count() == 2


def test_same_email_in_other_case_for_one_customer_raises_integrity_error():
    customer = CustomerFactory()
    ContactFactory(customer=customer, email="jane@acme.example")

    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(
            organization=customer.organization,
            customer=customer,
            external_id="X-2",
            email="JANE@acme.example",
        )

    assert Contact.objects.filter(customer=customer).count() == 1


def test_same_email_for_two_customers_is_allowed():
    first = ContactFactory(email="jane@acme.example")
    ContactFactory(email="jane@acme.example", customer__organization=first.organization)

    assert Contact.objects.filter(email="jane@acme.example").count() == 2


def test_identifier_code_is_unique_per_organization_in_the_database():
    contact = ContactFactory(external_id="C-1")
    other_customer = CustomerFactory(organization=contact.organization)

    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(customer=other_customer, external_id="C-1")

    assert Contact.objects.filter(external_id="C-1").count() == 1


def test_identifier_code_may_repeat_across_organizations():
    ContactFactory(external_id="C-1")
    ContactFactory(external_id="C-1")

    assert Contact.objects.filter(external_id="C-1").count() == 2


def test_customer_external_id_is_unique_per_organization_in_the_database():
    customer = CustomerFactory(external_id="CU-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(organization=customer.organization, external_id="CU-1")
