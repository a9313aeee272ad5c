import pytest
from django.db import IntegrityError, transaction

from contacts.models import Contact
from tests.factories import ContactFactory, CustomerFactory


@pytest.mark.django_db
def test_two_main_contacts_inserted_directly_raise_integrity_error():
    customer = CustomerFactory()
    ContactFactory(customer=customer, is_main=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(customer=customer, is_main=True)

    assert Contact.objects.filter(customer=customer, is_main=True).count() == 1
