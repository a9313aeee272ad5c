"""Rows that nearly match: a customer code differing by case, spaces or dashes, an email already used,
an email cell written the way mail programs copy it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.normalization import EMAIL_REFUSED_BY_PROVIDER, EMAIL_UNWRAPPED, SEVERAL_EMAILS
from contacts.services import checks
from contacts.services.planning import plan_rows
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import bulk_row as row

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("written", ["ac-1016", "AC 1016", "ac1016", " Ac \u2013 1016"])
def test_an_unknown_customer_code_suggests_the_stored_one_it_nearly_is(org, written):
    stored = CustomerFactory(organization=org, external_id="AC-1016", name="Optique Morel")
    typed = CustomerFactory.build(external_id=written.strip(), name=stored.name)

    plan = plan_rows(organization=org, rows=[row(2, typed, "C-1", "a@b.example")])

    message = checks.CUSTOMER_UNKNOWN_NEAR.format(
        organization=org.name, value=written.strip(), code="AC-1016", name="Optique Morel"
    )
    assert [(p.row, p.field, p.message) for p in plan.errors] == [(2, "customer_external_id", message)]
    assert message.endswith('did you mean "AC-1016" (Optique Morel)?')
    assert plan.outcomes[0].status == "invalid"


def test_a_customer_code_that_lost_its_leading_zeros_suggests_the_stored_one(org):
    CustomerFactory(organization=org, external_id="001234", name="Optique Morel")
    typed = CustomerFactory.build(external_id="1234", name="Optique Morel")

    plan = plan_rows(organization=org, rows=[row(2, typed, "C-1", "a@b.example")])

    message = checks.CUSTOMER_UNKNOWN_NEAR.format(
        organization=org.name, value="1234", code="001234", name="Optique Morel"
    )
    assert [p.message for p in plan.errors] == [message]
    assert message.endswith('did you mean "001234" (Optique Morel)?')


def test_no_suggestion_when_two_stored_codes_are_equally_near_or_none_is(org):
    CustomerFactory(organization=org, external_id="AC-1016")
    CustomerFactory(organization=org, external_id="ac 1016")
    rows = [
        row(2, CustomerFactory.build(external_id="AC1016"), "C-1", "a@b.example"),
        row(3, CustomerFactory.build(external_id="ZZ-1"), "C-2", "b@b.example"),
    ]

    plan = plan_rows(organization=org, rows=rows)

    assert [p.message for p in plan.errors] == [
        checks.CUSTOMER_UNKNOWN.format(organization=org.name, value="AC1016"),
        checks.CUSTOMER_UNKNOWN.format(organization=org.name, value="ZZ-1"),
    ]


def test_a_customer_of_another_organization_is_never_suggested(org):
    CustomerFactory(external_id="AC-1016")

    plan = plan_rows(
        organization=org, rows=[row(2, CustomerFactory.build(external_id="ac-1016"), "C-1", "a@b.x")]
    )

    assert plan.errors[0].message == checks.CUSTOMER_UNKNOWN.format(organization=org.name, value="ac-1016")


def test_suggestions_cost_one_query_and_only_when_a_code_is_unknown(org):
    customer = CustomerFactory(organization=org)
    unknown = CustomerFactory.build(external_id="nope")
    known_rows = [row(n, customer, f"C-{n}", f"c{n}@b.example") for n in range(2, 12)]

    with CaptureQueriesContext(connection) as known:
        plan_rows(organization=org, rows=known_rows)
    with CaptureQueriesContext(connection) as unknowns:
        plan_rows(
            organization=org,
            rows=[*known_rows, *(row(n, unknown, f"U-{n}", "u@b.example") for n in (20, 21))],
        )

    assert len(unknowns) == len(known) + 1


def test_an_email_used_by_a_stored_contact_without_a_name_names_its_code(org):
    customer = CustomerFactory(organization=org)
    ContactFactory(
        customer=customer, external_id="CT-7", email="taken@b.example", first_name="", last_name=""
    )

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1", "taken@b.example")])

    assert [p.message for p in plan.errors] == [checks.EMAIL_TAKEN_BY_CODE.format(code="CT-7")]


def test_an_email_pasted_with_a_name_is_imported_with_a_warning(org):
    customer = CustomerFactory(organization=org)
    cell = "Jeanne Roux <jeanne.roux@b.example>"

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1", cell)])

    assert plan.outcomes[0].values["email"] == "jeanne.roux@b.example"
    assert [(w.row, w.field, w.message) for w in plan.warnings] == [
        (2, "email", EMAIL_UNWRAPPED.format(value=cell, email="jeanne.roux@b.example"))
    ]


def test_two_addresses_in_one_cell_make_the_row_invalid(org):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1", "a@x.fr; b@x.fr")])

    assert [(p.field, p.message) for p in plan.errors] == [
        ("email", SEVERAL_EMAILS.format(value="a@x.fr; b@x.fr"))
    ]


def test_an_address_the_mail_provider_refuses_is_imported_with_a_warning(org):
    customer = CustomerFactory(organization=org)

    plan = plan_rows(organization=org, rows=[row(2, customer, "C-1", "jo#hn@x.fr")])

    assert plan.outcomes[0].status == "new"
    assert [w.message for w in plan.warnings] == [
        EMAIL_REFUSED_BY_PROVIDER.format(email="jo#hn@x.fr", character="#")
    ]
