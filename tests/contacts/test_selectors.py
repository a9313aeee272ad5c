"""Reads shared by several faces: the month at a glance of the admin index."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import ImportBatch
from contacts.selectors import organizations_at_a_glance
from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 7, 15, 12, 0, tzinfo=datetime.UTC)


def batch(
    organization, when: datetime.datetime, status=ImportBatch.Status.COMMITTED, user=None
) -> ImportBatch:
    return ImportBatch.objects.create(
        organization=organization,
        user=user,
        file_name="clients.csv",
        sha256="0" * 64,
        format="csv",
        status=status,
        created_at=when,
    )


def test_each_organization_managed_here_has_this_months_imports_and_its_customers_to_chase(settings):
    settings.TIME_ZONE = "Europe/Paris"
    acme = OrganizationFactory(name="Acme Industries")
    agent = UserFactory(username="camille.support")
    batch(acme, datetime.datetime(2026, 6, 30, 21, 59, tzinfo=datetime.UTC))  # June in Paris
    first = batch(acme, datetime.datetime(2026, 6, 30, 22, 1, tzinfo=datetime.UTC))  # July in Paris
    last = batch(acme, datetime.datetime(2026, 7, 3, 9, 0, tzinfo=datetime.UTC), user=agent)
    batch(acme, datetime.datetime(2026, 7, 4, 9, 0, tzinfo=datetime.UTC), status=ImportBatch.Status.FAILED)
    CustomerFactory.create_batch(2, organization=acme)
    no_main = CustomerFactory(organization=acme)
    ContactFactory.create_batch(2, customer=no_main, is_main=False)
    with_main = CustomerFactory(organization=acme)
    ContactFactory(customer=with_main, is_main=True)
    ContactFactory(customer=with_main, is_main=False)
    quiet = OrganizationFactory(name="Bakery Co")
    OrganizationFactory(name="Globex", synced=True)

    rows = {
        org.name: (
            org.imports_used,
            org.last_import_id,
            org.last_import_by,
            org.without_contacts,
            org.without_main_contact,
        )
        for org in organizations_at_a_glance(NOW)
    }

    assert first.pk != last.pk
    assert rows == {
        "Acme Industries": (2, last.pk, "camille.support", 2, 1),
        quiet.name: (0, None, None, 0, 0),
    }


def test_the_month_at_a_glance_is_one_query_whatever_the_number_of_organizations():
    for _ in range(4):
        organization = OrganizationFactory()
        batch(organization, NOW)
        ContactFactory(customer__organization=organization, is_main=True)
        CustomerFactory(organization=organization)

    with CaptureQueriesContext(connection) as queries:
        rows = list(organizations_at_a_glance(NOW))

    assert len(rows) == 4
    assert len(queries) == 1
