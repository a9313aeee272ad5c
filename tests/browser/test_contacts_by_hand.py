import pytest
from django.urls import reverse

from contacts.models import Contact
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_creates_a_contact_by_hand_and_makes_it_main(page, live_server):
    organization = OrganizationFactory(name="Acme Industries")
    customer = CustomerFactory(organization=organization, name="Boulangerie Martin", external_id="AC-1001")
    previous_main = ContactFactory(customer=customer, is_main=True, email="old.main@client.example")
    UserFactory(username="staff", is_superuser=True)

    log_in(page, live_server, "staff")
    page.goto(live_server.url + reverse("admin:contacts_contact_add"))
    # The customer is picked with the admin's autocomplete (select2).
    page.click(".field-customer .select2-selection")
    page.fill(".select2-search__field", "Boulang")
    page.click(".select2-results__option:has-text('Boulangerie Martin')")
    page.fill("#id_external_id", "AC-C-42")
    page.fill("#id_email", "Jeanne.Petit@Client.Example")
    page.fill("#id_first_name", "Jeanne")
    page.fill("#id_last_name", "Petit")
    page.fill("#id_phone", "06 12 34 56 78")
    page.select_option("#id_occupation", "ACCOUNTING")
    page.check("#id_is_main")
    page.click("input[name=_save]")

    page.wait_for_selector(".messagelist .success")
    contact = Contact.objects.get(external_id="AC-C-42")
    previous_main.refresh_from_db()
    assert (contact.email, contact.phone, contact.is_main) == (
        "jeanne.petit@client.example",
        "+33612345678",
        True,
    )
    assert previous_main.is_main is False
    assert "jeanne.petit@client.example" in page.content()
