import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from contacts.admin.contacts import DEMOTED_NOTICE
from contacts.models import EMAIL_TAKEN, EXTERNAL_ID_TAKEN, Contact, ContactChange
from contacts.services.contacts import contact_delete
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import actor, messages_of

pytestmark = pytest.mark.django_db

ORGANIZATIONS = reverse("admin:customers_organization_changelist")


def disconnect(client, organization, **extra):
    return client.post(
        ORGANIZATIONS, {"action": "disconnect_contacts", ACTION_CHECKBOX_NAME: [organization.pk], **extra}
    )


def test_organization_list_shows_contacts_source_and_counts(superuser_client):
    organization = OrganizationFactory(name="Acme")
    ContactFactory.create_batch(3, customer__organization=organization)
    CustomerFactory(organization=organization)

    response = superuser_client.get(ORGANIZATIONS)

    row = next(o for o in response.context["cl"].result_list if o.pk == organization.pk)
    assert (row.customer_count, row.contact_count) == (4, 3)
    assert b"Managed here" in response.content


def test_disconnect_action_first_shows_an_irreversible_confirmation(superuser_client, synced_org):
    response = disconnect(superuser_client, synced_org)

    assert response.status_code == 200
    page = response.content.decode()
    assert "This cannot be undone." in page
    assert "Contacts created here cannot be sent back to the invoicing system." in page
    synced_org.refresh_from_db()
    assert not synced_org.contacts_are_managed


def test_confirming_the_disconnect_disconnects_and_records_the_user(client, synced_org):
    user = UserFactory(is_superuser=True)
    client.force_login(user)

    response = disconnect(client, synced_org, confirm="yes")

    assert response.status_code == 302
    synced_org.refresh_from_db()
    assert synced_org.contacts_are_managed
    assert synced_org.contacts_disconnected_by == user


def test_disconnect_action_needs_its_own_permission(client, synced_org):
    user = UserFactory()
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_organization", "change_organization"])
    )
    client.force_login(user)

    listing = client.get(ORGANIZATIONS)
    response = disconnect(client, synced_org, confirm="yes")

    assert b"disconnect_contacts" not in listing.content
    assert response.status_code in (200, 302)
    synced_org.refresh_from_db()
    assert not synced_org.contacts_are_managed


def test_customer_page_edits_contacts_inline_and_a_new_main_demotes_the_old(superuser_client, org):
    customer = CustomerFactory(organization=org)
    old_main = ContactFactory(customer=customer, is_main=True)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    data = {
        "organization": org.pk,
        "name": customer.name,
        "external_id": customer.external_id,
        "contacts-TOTAL_FORMS": "2",
        "contacts-INITIAL_FORMS": "1",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-id": old_main.pk,
        "contacts-0-customer": customer.pk,
        "contacts-0-external_id": old_main.external_id,
        "contacts-0-email": old_main.email,
        "contacts-0-first_name": old_main.first_name,
        "contacts-0-last_name": old_main.last_name,
        "contacts-0-is_main": "on",
        "contacts-1-customer": customer.pk,
        "contacts-1-external_id": "C-NEW",
        "contacts-1-email": "new@client.example",
        "contacts-1-is_main": "on",
    }

    response = superuser_client.post(url, data)

    assert response.status_code == 302, response.context["errors"]
    new = Contact.objects.get(external_id="C-NEW")
    old_main.refresh_from_db()
    assert (new.is_main, old_main.is_main) == (True, False)
    assert new.organization == org
    name = f"{old_main.first_name} {old_main.last_name}"
    assert messages_of(response) == [
        DEMOTED_NOTICE % {"contact": name, "customer": customer.name},
        *[m for m in messages_of(response) if "no longer the main contact" not in m],
    ]


def test_customer_page_links_to_its_deleted_contacts_history(superuser_client, org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer, external_id="C-GONE")
    contact_id = contact.pk
    contact_delete(contact=contact, actor=actor())

    page = superuser_client.get(
        reverse("admin:customers_customer_change", args=[customer.pk])
    ).content.decode()
    link = f"{reverse('admin:contacts_contactchange_changelist')}?customer__id__exact={customer.pk}"
    deleted = superuser_client.get(f"{link}&action__in=deleted,erased").content.decode()

    assert f"{link}&amp;action__in=deleted,erased" in page
    assert reverse("admin:contacts_contact_history", args=[contact_id]) in deleted
    assert "C-GONE" in deleted


def test_customer_of_a_synced_organization_shows_contacts_read_only(superuser_client, synced_org):
    contact = ContactFactory(customer__organization=synced_org)

    response = superuser_client.get(reverse("admin:customers_customer_change", args=[contact.customer.pk]))

    assert contact.email in response.content.decode()
    assert b'name="contacts-0-email"' not in response.content
    assert b"synced from the invoicing system" in response.content


def test_customer_search_by_external_id(superuser_client, org):
    CustomerFactory(organization=org, external_id="ZZ-42", name="Wanted")
    CustomerFactory(organization=org, external_id="AA-1", name="Other")

    response = superuser_client.get(reverse("admin:customers_customer_changelist"), {"q": "ZZ-42"})

    assert [c.name for c in response.context["cl"].result_list] == ["Wanted"]


def inline_data(customer, *rows) -> dict:
    """The customer page's form with its contacts as inline rows (dicts of fields; "id" for stored ones)."""
    data = {
        "organization": customer.organization_id,
        "name": customer.name,
        "external_id": customer.external_id,
        "contacts-TOTAL_FORMS": str(len(rows)),
        "contacts-INITIAL_FORMS": str(sum(1 for row in rows if "id" in row)),
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data |= {f"contacts-{index}-customer": customer.pk}
        data |= {f"contacts-{index}-{name}": value for name, value in row.items()}
    return data


def stored_row(contact, **changes) -> dict:
    row = {"id": contact.pk, "external_id": contact.external_id, "email": contact.email}
    return row | changes


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(
            lambda a, b: [stored_row(a, email=b.email.upper()), stored_row(b)], id="taken by a stored row"
        ),
        pytest.param(
            lambda a, b: [stored_row(a), stored_row(b), {"external_id": "N-1", "email": a.email}],
            id="new row",
        ),
        pytest.param(
            lambda a, b: [
                stored_row(a),
                stored_row(b),
                {"external_id": "N-1", "email": "x@client.example"},
                {"external_id": "N-2", "email": "X@client.example"},
            ],
            id="two new rows",
        ),
    ],
)
def test_a_duplicate_email_in_the_contacts_inline_is_a_form_error_and_keeps_the_typing(
    superuser_client, org, rows
):
    customer = CustomerFactory(organization=org)
    first, second = ContactFactory(customer=customer), ContactFactory(customer=customer)
    before = sorted(Contact.objects.values_list("id", "email"))
    url = reverse("admin:customers_customer_change", args=[customer.pk])

    response = superuser_client.post(url, inline_data(customer, *rows(first, second)))

    assert response.status_code == 200
    errors = [
        error
        for form_errors in response.context["inline_admin_formsets"][0].formset.errors
        for error in form_errors.get("email", [])
    ]
    assert errors == [EMAIL_TAKEN]
    assert sorted(Contact.objects.values_list("id", "email")) == before


def test_a_repeated_identifier_code_in_the_contacts_inline_is_a_form_error_in_plain_words(
    superuser_client, org
):
    customer = CustomerFactory(organization=org)
    rows = [
        {"external_id": "N-1", "email": "a@client.example"},
        {"external_id": "N-1", "email": "b@client.example"},
    ]
    url = reverse("admin:customers_customer_change", args=[customer.pk])

    response = superuser_client.post(url, inline_data(customer, *rows))

    formset = response.context["inline_admin_formsets"][0].formset
    assert [form.errors.get("external_id") for form in formset.forms] == [None, [EXTERNAL_ID_TAKEN]]
    assert formset.non_form_errors() == []
    assert not Contact.objects.exists()


def test_a_customer_never_changes_organization_nor_a_contact_customer(superuser_client, org):
    other = OrganizationFactory()
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer)
    elsewhere = CustomerFactory(organization=org)

    superuser_client.post(
        reverse("admin:customers_customer_change", args=[customer.pk]),
        inline_data(customer, stored_row(contact)) | {"organization": other.pk},
    )
    superuser_client.post(
        reverse("admin:contacts_contact_change", args=[contact.pk]),
        {"customer": elsewhere.pk, "external_id": contact.external_id, "email": contact.email},
    )

    customer.refresh_from_db()
    contact.refresh_from_db()
    assert (customer.organization, contact.customer) == (org, customer)


def test_customer_list_filters_customers_without_contacts_or_without_a_main_contact(superuser_client, org):
    lonely = CustomerFactory(organization=org, name="Lonely")
    no_main = CustomerFactory(organization=org, name="No main")
    ContactFactory(customer=no_main, is_main=False)
    with_main = CustomerFactory(organization=org, name="With main")
    ContactFactory(customer=with_main, is_main=True)
    ContactFactory(customer=with_main, is_main=False)
    url = reverse("admin:customers_customer_changelist")

    def listed(value: str) -> set[str]:
        return {c.name for c in superuser_client.get(url, {"contacts": value}).context["cl"].result_list}

    assert listed("none") == {lonely.name}
    assert listed("no_main") == {no_main.name}
    assert listed("main") == {with_main.name}


def test_who_disconnected_an_organization_links_to_the_user_only_for_staff_allowed_to_view_users(
    superuser_client,
):
    boss = UserFactory(username="camille.boss")
    organization = OrganizationFactory(contacts_disconnected_by=boss)
    support = UserFactory()
    support.user_permissions.add(Permission.objects.get(codename="view_organization"))
    client = Client()
    client.force_login(support)
    url = reverse("admin:customers_organization_change", args=[organization.pk])
    user_page = reverse("admin:auth_user_change", args=[boss.pk])

    support_page = client.get(url).content.decode()
    superuser_page = superuser_client.get(url).content.decode()

    assert "camille.boss" in support_page
    assert user_page not in support_page
    assert f'<a href="{user_page}">camille.boss</a>' in superuser_page


def test_inline_edits_on_the_customer_page_are_logged_with_the_staff_user(superuser_client, org):
    customer = CustomerFactory(organization=org)
    edited = ContactFactory(customer=customer, last_name="Before")
    removed = ContactFactory(customer=customer)
    rows = [
        stored_row(edited, first_name=edited.first_name, last_name="After"),
        stored_row(removed, DELETE="on"),
        {"external_id": "C-NEW", "email": "new@client.example"},
    ]

    response = superuser_client.post(
        reverse("admin:customers_customer_change", args=[customer.pk]), inline_data(customer, *rows)
    )

    assert response.status_code == 302
    user = superuser_client.session["_auth_user_id"]
    new = Contact.objects.get(external_id="C-NEW")
    entries = ContactChange.objects.order_by("seq")
    assert [(e.contact_id, e.action, e.channel, str(e.user_id)) for e in entries] == [
        (removed.pk, "deleted", "admin", user),
        (edited.pk, "updated", "admin", user),
        (new.pk, "created", "admin", user),
    ]
    assert entries[1].after == {"last_name": "After"}
