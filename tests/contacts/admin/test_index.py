"""The admin index's month at a glance, for staff allowed to import."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import ImportBatch
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import staff_client

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
CUSTOMERS = reverse("admin:customers_customer_changelist")


def support_agent():
    """Staff allowed to import who may open the customers list, like the demo's support group."""
    client = staff_client("import_contacts", "view_contact")
    client.user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    return client


def imported(organization, user=None) -> ImportBatch:
    return ImportBatch.objects.create(
        organization=organization,
        user=user,
        file_name="a.csv",
        sha256="0" * 64,
        format="csv",
        status="committed",
    )


def test_the_panel_links_each_figure_to_its_list(settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 2
    acme = OrganizationFactory(name="Acme Industries", slug="acme")
    batch = imported(acme, user=UserFactory(username="camille.support"))
    CustomerFactory.create_batch(3, organization=acme)
    ContactFactory(customer__organization=acme, is_main=False)
    OrganizationFactory(name="Globex Distribution", synced=True)

    content = support_agent().get(INDEX).content.decode()

    panel = content[content.index('id="month-at-a-glance"') : content.index("</table>")]
    row = panel[panel.index('class="organization-acme"') :]
    assert "Acme Industries" in row
    assert "Globex Distribution" not in panel  # synced: nothing is imported for it
    history = reverse("admin:contacts_importbatch_changelist")
    assert f'<a href="{history}?organization__id__exact={acme.pk}">1 / 2</a>' in row
    assert reverse("admin:contacts_importbatch_change", args=[batch.pk]) in row
    assert "by camille.support" in row
    assert f'<a href="{CUSTOMERS}?organization__id__exact={acme.pk}&amp;contacts=none">3</a>' in row
    assert f'<a href="{CUSTOMERS}?organization__id__exact={acme.pk}&amp;contacts=no_main">1</a>' in row


def test_an_organization_without_imports_this_month_offers_to_import():
    acme = OrganizationFactory(name="Acme Industries", slug="acme")

    content = support_agent().get(INDEX).content.decode()

    assert f"{reverse('admin:contacts_contact_import')}?organization={acme.pk}" in content
    assert "None yet" in content


def test_staff_who_cannot_import_see_no_panel():
    OrganizationFactory()

    content = staff_client("view_contact").get(INDEX).content.decode()

    assert 'id="month-at-a-glance"' not in content


def page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(INDEX).status_code == 200
    return len(queries)


def test_the_panel_costs_the_same_queries_for_one_organization_as_for_five():
    client = support_agent()

    def organization_with_data():
        organization = OrganizationFactory()
        imported(organization, user=client.user)
        CustomerFactory(organization=organization)
        ContactFactory.create_batch(2, customer__organization=organization)

    organization_with_data()
    one = page_queries(client)
    for _ in range(4):
        organization_with_data()

    assert page_queries(client) == one
