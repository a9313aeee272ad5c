import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from contacts.models import Contact
from customers.models import Customer, Organization


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.example")
    is_staff = True
    password = factory.django.Password("pass-for-tests")


class OrganizationFactory(factory.django.DjangoModelFactory):
    """A disconnected organization (contacts managed here): the one most tests need."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    contacts_source = Organization.ContactsSource.MANAGED
    contacts_disconnected_at = factory.LazyFunction(timezone.now)

    class Params:
        synced = factory.Trait(
            contacts_source=Organization.ContactsSource.INVOICING, contacts_disconnected_at=None
        )


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    external_id = factory.Sequence(lambda n: f"CUST-{n:05d}")


class ContactFactory(factory.django.DjangoModelFactory):
    """Saved directly (not through the services): for arranging the database in tests."""

    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    external_id = factory.Sequence(lambda n: f"CONTACT-{n:05d}")
    email = factory.Sequence(lambda n: f"person{n}@client.example")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Martin{n}")
    phone = ""
    occupation = ""
    is_main = False
    source = Contact.Source.MANUAL
