import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.models import EXTERNAL_ID_TAKEN, Contact
from contacts.services import bulk, planning
from contacts.services.bulk import InvalidRows, contacts_bulk_upsert
from contacts.services.contacts import CONTACTS_SYNCED
from tests.factories import ContactFactory, CustomerFactory
from tests.helpers import actor
from tests.helpers import bulk_row as row

pytestmark = pytest.mark.django_db


def upsert(org, rows, *, channel="import", **options) -> list:
    """What the bulk service wrote for these rows."""
    return contacts_bulk_upsert(organization=org, rows=rows, actor=actor(channel), **options).written


def test_synced_organization_is_refused_and_nothing_is_written(synced_org):
    customer = CustomerFactory(organization=synced_org)

    with pytest.raises(ValidationError) as caught:
        upsert(synced_org, [row(2, customer, "C-1", "a@b.example")])

    assert caught.value.messages == [CONTACTS_SYNCED.format(organization=synced_org.name)]
    assert Contact.objects.count() == 0


def test_creates_and_updates_with_the_source_and_a_fresh_updated_at(org):
    customer = CustomerFactory(organization=org)
    existing = ContactFactory(customer=customer, email="old@b.example")
    before = timezone.now()

    written = upsert(
        org,
        [
            row(2, customer, "C-NEW", "new@b.example", first_name="Nina"),
            row(3, customer, existing.external_id, "changed@b.example"),
        ],
    )

    created = Contact.objects.get(external_id="C-NEW")
    existing.refresh_from_db()
    assert (created.first_name, created.source, created.organization_id) == ("Nina", "import", org.pk)
    assert (existing.email, existing.source) == ("changed@b.example", "import")
    assert existing.updated_at >= before
    assert sorted((w.external_id, w.action, w.before) for w in written) == [
        ("C-NEW", "created", None),
        (existing.external_id, "updated", {"email": "old@b.example", "source": "manual"}),
    ]


def test_unchanged_rows_write_nothing(org):
    customer = CustomerFactory(organization=org)
    contact = ContactFactory(customer=customer)
    stamp = contact.updated_at

    written = upsert(
        org, [row(2, customer, contact.external_id, contact.email, first_name=contact.first_name)]
    )

    contact.refresh_from_db()
    assert written == []
    assert (contact.updated_at, contact.source) == (stamp, "manual")


def test_an_update_writes_only_the_fields_its_row_changes(org, monkeypatch):
    customer = CustomerFactory(organization=org)
    first = ContactFactory(customer=customer, first_name="Ann", last_name="Old")
    second = ContactFactory(customer=customer, first_name="Bob", last_name="Keep")
    statements = []
    original = bulk.db_bulk.update_rows

    def recording(model, names, rows, **options):
        statements.append((tuple(names), [r[-1] for r in rows]))
        return original(model, names, rows, **options)

    monkeypatch.setattr(bulk.db_bulk, "update_rows", recording)

    upsert(
        org,
        [
            row(2, customer, first.external_id, first.email, last_name="New"),
            row(3, customer, second.external_id, "bob.new@b.example"),
        ],
    )

    assert sorted(statements) == sorted(
        [
            (("last_name", "source", "updated_at"), [first.pk]),
            (("email", "source", "updated_at"), [second.pk]),
        ]
    )


def test_new_main_contact_demotes_the_stored_one(org):
    customer = CustomerFactory(organization=org)
    current = ContactFactory(customer=customer, is_main=True)

    written = upsert(org, [row(2, customer, "C-NEW", "new@b.example", is_main="1")])

    current.refresh_from_db()
    assert current.is_main is False
    assert Contact.objects.get(external_id="C-NEW").is_main is True
    assert ("demoted", {"is_main": True, "source": "manual"}, current.pk) in [
        (w.action, w.before, w.pk) for w in written
    ]
    assert current.source == "import"  # a contact demoted by an import records that channel


def test_promoting_an_existing_contact_demotes_the_stored_main_listed_in_the_file(org):
    customer = CustomerFactory(organization=org)
    current = ContactFactory(customer=customer, is_main=True)
    other = ContactFactory(customer=customer)

    written = upsert(
        org,
        [
            row(2, customer, current.external_id, current.email, first_name=current.first_name),
            row(3, customer, other.external_id, other.email, first_name=other.first_name, is_main="1"),
        ],
    )

    current.refresh_from_db()
    other.refresh_from_db()
    assert (current.is_main, other.is_main) == (False, True)
    assert sorted((w.pk, w.before["is_main"]) for w in written) == sorted(
        [(current.pk, True), (other.pk, False)]
    )


def test_existing_main_contact_updated_without_main_column_stays_main(org):
    customer = CustomerFactory(organization=org)
    main = ContactFactory(customer=customer, is_main=True)
    promoted_elsewhere = ContactFactory(customer=CustomerFactory(organization=org))

    upsert(
        org,
        [
            row(2, main.customer, main.external_id, "changed@b.example"),
            row(3, promoted_elsewhere.customer, promoted_elsewhere.external_id, "p@b.example", is_main="1"),
        ],
    )

    main.refresh_from_db()
    promoted_elsewhere.refresh_from_db()
    assert (main.is_main, main.email, promoted_elsewhere.is_main) == (True, "changed@b.example", True)


def test_an_invalid_row_refuses_the_whole_write_with_the_plan(org):
    customer = CustomerFactory(organization=org)

    with pytest.raises(InvalidRows) as caught:
        upsert(org, [row(2, customer, "C-1", "a@b.example"), row(3, customer, "C-2", "broken")])

    assert caught.value.messages == [bulk.INVALID_ROWS.format(count=1)]
    assert caught.value.plan.totals["invalid"] == 1
    assert Contact.objects.count() == 0


def test_skip_invalid_writes_the_valid_rows(org):
    customer = CustomerFactory(organization=org)

    upsert(
        org,
        [row(2, customer, "C-1", "a@b.example"), row(3, customer, "C-2", "broken")],
        channel="api",
        skip_invalid=True,
    )

    assert list(Contact.objects.values_list("external_id", "source")) == [("C-1", "api")]


def test_a_constraint_the_plan_missed_becomes_a_validation_error_and_rolls_back(org, monkeypatch):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="C-2")
    # A plan made from a stale read: it does not see C-2, so its insert collides with the stored row.
    monkeypatch.setattr(planning, "read_contacts", lambda *args: [])

    with pytest.raises(ValidationError) as caught:
        upsert(org, [row(2, customer, "C-1", "a@b.example"), row(3, customer, "C-2", "b@b.example")])

    assert caught.value.messages == [EXTERNAL_ID_TAKEN]
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["C-2"]


def test_returns_the_ids_codes_and_previous_values_it_wrote(org):
    customer = CustomerFactory(organization=org)
    existing = ContactFactory(customer=customer, email="old@b.example", is_main=True)

    written = upsert(
        org,
        [row(2, customer, "C-NEW", "c@b.example"), row(3, customer, "C-MAIN", "m@b.example", is_main="yes")],
        channel="api",
    )

    by_code = {w.external_id: w for w in written}
    assert set(by_code) == {"C-NEW", "C-MAIN", existing.external_id}
    for one in written:
        assert Contact.objects.get(pk=one.pk).external_id == one.external_id
    assert (by_code["C-NEW"].action, by_code["C-NEW"].before) == ("created", None)
    demoted = by_code[existing.external_id]
    assert (demoted.action, demoted.before, demoted.after) == (
        "demoted",
        {"is_main": True, "source": "manual"},
        {"is_main": False, "source": "api"},
    )


class Recording(bulk.BulkHooks):
    def __init__(self, refuse_at: str = ""):
        self.calls: list[str] = []
        self.refuse_at = refuse_at

    def _record(self, name: str) -> None:
        self.calls.append(name)
        if name == self.refuse_at:
            raise ValidationError("refused by the caller")

    def locked(self, organization):
        self._record("locked")

    def planned(self, plan):
        self._record("planned")

    def written(self, plan, written):
        self._record("written")


def test_hooks_run_in_order_inside_the_transaction(org):
    customer = CustomerFactory(organization=org)
    hooks = Recording()

    upsert(org, [row(2, customer, "C-1", "a@b.example")], hooks=hooks)

    assert hooks.calls == ["locked", "planned", "written"]


@pytest.mark.parametrize("refuse_at", ["locked", "planned", "written"])
def test_a_hook_that_raises_refuses_the_write_and_nothing_stays(org, refuse_at):
    customer = CustomerFactory(organization=org)

    with pytest.raises(ValidationError):
        upsert(org, [row(2, customer, "C-1", "a@b.example")], hooks=Recording(refuse_at))

    assert Contact.objects.count() == 0
