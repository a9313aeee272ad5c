import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.admin.contacts import DEMOTED_NOTICE, OCCUPATION_STILL_EDITABLE
from contacts.models import EMAIL_TAKEN, EXTERNAL_ID_TAKEN, Contact, ContactChange
from contacts.normalization import EMAIL_REFUSED_BY_PROVIDER
from contacts.services.contacts import CONTACTS_SYNCED
from tests.factories import ContactFactory, CustomerFactory, UserFactory
from tests.helpers import messages_of

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contacts_contact_changelist")
ADD = reverse("admin:contacts_contact_add")


def change_url(contact):
    return reverse("admin:contacts_contact_change", args=[contact.pk])


def form_data(customer, **overrides):
    data = {
        "customer": customer.pk,
        "external_id": "C-100",
        "email": "jane@client.example",
        "first_name": "Jane",
        "last_name": "Doe",
        "phone": "06 12 34 56 78",
        "occupation": "ACCOUNTING",
    }
    data.update(overrides)
    return data


def page_query_count(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries)


def test_contact_list_costs_the_same_queries_for_100_contacts_as_for_1(superuser_client, org):
    ContactFactory(customer__organization=org)
    one = page_query_count(superuser_client)
    ContactFactory.create_batch(99, customer__organization=org)

    hundred = page_query_count(superuser_client)

    assert hundred == one


def test_contact_list_shows_and_searches_contacts(superuser_client, org):
    ContactFactory(customer__organization=org, email="findme@client.example")
    ContactFactory(customer__organization=org, email="other@client.example")

    response = superuser_client.get(CHANGELIST, {"q": "findme"})

    assert b"findme@client.example" in response.content
    assert b"other@client.example" not in response.content


def test_contact_list_filters_by_main(superuser_client, org):
    ContactFactory(customer__organization=org, email="main@client.example", is_main=True)
    ContactFactory(customer__organization=org, email="plain@client.example")

    response = superuser_client.get(CHANGELIST, {"is_main__exact": "1"})

    assert b"main@client.example" in response.content
    assert b"plain@client.example" not in response.content


def test_adding_a_contact_normalizes_it_and_marks_it_manual(superuser_client, org):
    customer = CustomerFactory(organization=org)

    response = superuser_client.post(ADD, form_data(customer, email="Jane@Client.Example"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    contact = Contact.objects.get()
    assert (contact.email, contact.phone, contact.source) == ("jane@client.example", "+33612345678", "manual")
    assert contact.organization == org


def test_an_address_the_mail_provider_refuses_is_a_form_error_naming_the_character(superuser_client, org):
    customer = CustomerFactory(organization=org)

    response = superuser_client.post(ADD, form_data(customer, email="a!b@client.example"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == [
        EMAIL_REFUSED_BY_PROVIDER.format(email="a!b@client.example", character="!")
    ]
    assert not Contact.objects.exists()


def test_a_stored_address_the_provider_refuses_does_not_block_saving_other_changes(superuser_client, org):
    contact = ContactFactory(customer=CustomerFactory(organization=org), email="a!b@client.example")

    data = form_data(contact.customer, external_id=contact.external_id, email=contact.email, first_name="Zoé")
    response = superuser_client.post(change_url(contact), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert (contact.email, contact.first_name) == ("a!b@client.example", "Zoé")


def test_ticking_main_contact_demotes_the_previous_main(superuser_client, org):
    customer = CustomerFactory(organization=org)
    previous = ContactFactory(customer=customer, is_main=True)
    contact = ContactFactory(customer=customer)

    response = superuser_client.post(
        change_url(contact),
        form_data(customer, external_id=contact.external_id, email=contact.email, is_main="on"),
    )

    assert response.status_code == 302
    previous.refresh_from_db()
    contact.refresh_from_db()
    assert (previous.is_main, contact.is_main) == (False, True)


def test_a_save_that_demotes_the_main_contact_says_so(superuser_client, org):
    customer = CustomerFactory(organization=org, name="Cabinet Laurent")
    ContactFactory(customer=customer, first_name="Léa", last_name="Laurent", is_main=True)
    contact = ContactFactory(customer=customer)

    response = superuser_client.post(
        change_url(contact),
        form_data(customer, external_id=contact.external_id, email=contact.email, is_main="on"),
        follow=True,
    )

    notice = DEMOTED_NOTICE % {"contact": "Léa Laurent", "customer": "Cabinet Laurent"}
    assert notice == "Léa Laurent is no longer the main contact of Cabinet Laurent."
    assert notice in messages_of(response)


def test_a_save_that_demotes_nobody_says_nothing_about_it(superuser_client, org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer)

    response = superuser_client.post(
        change_url(contact),
        form_data(customer, external_id=contact.external_id, email=contact.email, is_main="on"),
        follow=True,
    )

    assert not [m for m in messages_of(response) if "no longer the main contact" in m]


def test_admin_writes_are_logged_with_the_staff_user(superuser_client, org):
    customer = CustomerFactory(organization=org)

    superuser_client.post(ADD, form_data(customer))
    contact = Contact.objects.get()
    superuser_client.post(reverse("admin:contacts_contact_delete", args=[contact.pk]), {"post": "yes"})

    entries = ContactChange.objects.order_by("seq")
    user = superuser_client.session["_auth_user_id"]
    assert [(e.action, e.channel, str(e.user_id), e.contact_id) for e in entries] == [
        ("created", "admin", user, contact.pk),
        ("deleted", "admin", user, contact.pk),
    ]


def test_deleting_selected_contacts_logs_one_entry_each_with_the_staff_user(superuser_client, org):
    customer = CustomerFactory(organization=org)
    doomed = ContactFactory.create_batch(3, customer=customer)
    kept = ContactFactory(customer=customer)

    response = superuser_client.post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "delete_selected", "post": "yes", ACTION_CHECKBOX_NAME: [c.pk for c in doomed]},
    )

    assert response.status_code == 302
    assert list(Contact.objects.values_list("pk", flat=True)) == [kept.pk]
    user = superuser_client.session["_auth_user_id"]
    entries = ContactChange.objects.order_by("seq")
    assert [(e.action, e.channel, str(e.user_id), e.contact_id) for e in entries] == [
        ("deleted", "admin", user, c.pk) for c in doomed
    ]


def test_duplicate_email_is_a_form_error_not_a_crash(superuser_client, org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, email="jane@client.example")

    response = superuser_client.post(ADD, form_data(customer, email="JANE@client.example"))

    assert response.status_code == 200
    assert str(EMAIL_TAKEN) in str(response.context["adminform"].form.errors)
    assert Contact.objects.count() == 1


def test_duplicate_identifier_code_is_a_form_error_not_a_crash(superuser_client, org):
    ContactFactory(customer__organization=org, external_id="C-100")
    customer = CustomerFactory(organization=org)

    response = superuser_client.post(ADD, form_data(customer))

    assert response.status_code == 200
    assert str(EXTERNAL_ID_TAKEN) in str(response.context["adminform"].form.errors)
    assert Contact.objects.count() == 1


def test_invalid_phone_is_a_form_error(superuser_client, org):
    customer = CustomerFactory(organization=org)

    response = superuser_client.post(ADD, form_data(customer, phone="12"))

    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert not Contact.objects.exists()


def test_contact_of_a_synced_organization_cannot_be_added(superuser_client, synced_org):
    customer = CustomerFactory(organization=synced_org)

    response = superuser_client.post(ADD, form_data(customer))

    assert response.status_code == 200
    assert CONTACTS_SYNCED.format(organization=synced_org.name) in str(
        response.context["adminform"].form.errors
    )
    assert not Contact.objects.exists()


def test_contact_of_a_synced_organization_is_read_only_but_for_its_occupation(superuser_client, synced_org):
    contact = ContactFactory(
        customer__organization=synced_org,
        first_name="Before",
        occupation="SALES",
        phone="n/a",  # as the invoicing system wrote it: not the agent's to correct here
        source=Contact.Source.INVOICING,
    )

    page = superuser_client.get(change_url(contact))
    post = superuser_client.post(
        change_url(contact), form_data(contact.customer, first_name="After", occupation="PAYER")
    )
    delete = superuser_client.post(
        reverse("admin:contacts_contact_delete", args=[contact.pk]), {"post": "yes"}
    )

    content = page.content.decode()
    assert f"{CONTACTS_SYNCED.format(organization=synced_org.name)} {OCCUPATION_STILL_EDITABLE}" in content
    assert 'name="occupation"' in content
    assert 'name="first_name"' not in content
    assert 'name="email"' not in content
    assert post.status_code == 302
    assert delete.status_code == 403
    contact.refresh_from_db()
    assert (contact.occupation, contact.first_name, contact.phone, contact.source) == (
        "PAYER",
        "Before",
        "n/a",
        Contact.Source.INVOICING,
    )


def test_customer_autocomplete_finds_customers_by_name(superuser_client, org):
    CustomerFactory(organization=org, name="Boulangerie Martin")
    CustomerFactory(organization=org, name="Garage du Centre")

    response = superuser_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "contacts", "model_name": "contact", "field_name": "customer", "term": "boulang"},
    )

    assert [r["text"].split(" (")[0] for r in response.json()["results"]] == ["Boulangerie Martin"]


def test_support_staff_can_add_contacts_but_not_delete_them(client, org):
    user = UserFactory()
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_contact", "add_contact", "change_contact", "view_customer"]
        )
    )
    client.force_login(user)
    contact = ContactFactory(customer__organization=org)

    add_page = client.get(ADD)
    delete_page = client.get(reverse("admin:contacts_contact_delete", args=[contact.pk]))

    assert add_page.status_code == 200
    assert delete_page.status_code == 403
