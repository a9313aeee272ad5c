"""Property-based tests of the cell parsing: whatever a client types in a cell, the rules answer with
our validation errors (a row problem naming its row and column), never with an exception."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contacts.importing.columns import FIELDS
from contacts.models import Contact
from contacts.normalization import normalize_email, normalize_phone
from contacts.services.planning import plan_rows
from contacts.services.rows import RowInput
from contacts.services.values import parse_main_contact
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

# What cells hold after reading: text of any kind (control characters, emoji, long runs of spaces,
# digits that look like numbers), and what the API's JSON can send (numbers, booleans, null).
cell_text = st.text(max_size=60) | st.from_regex(r"\s*[+0-9 ().-]{0,20}\s*", fullmatch=True)
cell = cell_text | st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
row_values = st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS, cell))
property_settings = hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@property_settings
@given(st.lists(row_values, min_size=1, max_size=6))
def test_any_cells_give_an_outcome_per_row_and_only_row_problems(org, rows):
    # Examples share the test's transaction: the known customer and contact are made once.
    if not Contact.objects.filter(organization=org, external_id="CT-1").exists():
        customer = CustomerFactory(organization=org, external_id="C-1", name="Acme")
        ContactFactory(customer=customer, external_id="CT-1", email="known@example.com", is_main=True)
    # Half the rows point at the known customer and contact, so the update paths run too.
    inputs = [
        RowInput(row=number, values={"customer_external_id": "C-1", "external_id": "CT-1", **values})
        if number % 2
        else RowInput(row=number, values=values)
        for number, values in enumerate(rows, start=2)
    ]

    plan = plan_rows(organization=org, rows=inputs)

    assert [outcome.row for outcome in plan.outcomes] == [row.row for row in inputs]
    for outcome in plan.outcomes:
        assert outcome.status in {"new", "updated", "unchanged", "invalid"}
        assert (outcome.status == "invalid") == bool(outcome.errors)
        for problem in outcome.errors:
            assert problem.row == outcome.row
            assert problem.field in FIELDS
            assert problem.message.strip()
            assert "\n" not in problem.message
        if outcome.status != "invalid":
            assert isinstance(outcome.values["email"], str)
            assert "@" in outcome.values["email"]
            assert outcome.values["phone"] == "" or outcome.values["phone"].startswith("+")


@property_settings
@given(cell)
def test_main_contact_cells_parse_or_raise_value_error(value):
    try:
        parsed = parse_main_contact(value)
    except ValueError:
        return
    assert parsed in (True, False, None)


@property_settings
@given(cell_text, st.sampled_from(["FR", "BE", "US", "GB", "DE"]))
def test_phone_cells_give_e164_or_a_validation_error(text, region):
    try:
        phone = normalize_phone(text, region)
    except ValidationError:
        return
    assert phone == "" or (phone.startswith("+") and phone[1:].isdigit())


@property_settings
@given(cell_text)
def test_email_cells_give_a_lower_cased_address_or_a_validation_error(text):
    try:
        email = normalize_email(text)
    except ValidationError:
        return
    assert email == email.strip().lower()
    assert "@" in email
