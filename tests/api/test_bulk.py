import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.api.bulk import (
    FORBIDDEN_CHARACTER,
    INVALID_ITEMS,
    MAX_ITEMS,
    NO_ITEMS,
    NOT_A_LIST,
    NOT_A_VALUE,
    NOT_AN_OBJECT,
    TOO_MANY_ITEMS,
)
from contacts.models import Contact
from contacts.normalization import INVALID_EMAIL
from contacts.services.checks import (
    CONTACT_ID_REPEATED,
    CUSTOMER_UNKNOWN,
    MAIN_CONTACT_INVALID,
    OCCUPATION_INVALID,
)
from contacts.services.contacts import CONTACTS_SYNCED
from contacts.services.main_contacts import MAIN_CONTACT_DEMOTED, MAIN_CONTACT_LAST_WINS
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

BULK = "/api/v1/contacts/bulk"


def item(customer, external_id: str, **fields) -> dict:
    return {
        "customerExternalId": customer.external_id,
        "externalId": external_id,
        "email": f"{external_id.lower()}@client.example",
        **fields,
    }


def snapshot() -> list[tuple]:
    return list(Contact.objects.order_by("pk").values_list())


def test_bulk_creates_and_updates_and_reports_each_item(api, org):
    customer = CustomerFactory(organization=org)
    existing = ContactFactory(customer=customer, external_id="K-1", first_name="Ann")
    unchanged = ContactFactory(customer=customer, external_id="K-3")

    response = api.post(
        BULK,
        [
            item(customer, "K-1", email=existing.email, firstName="Anne"),
            item(customer, "K-2", phone="06 12 34 56 78", position="payer"),
            {"customerExternalId": customer.external_id, "externalId": "K-3"},
        ],
    )

    assert response.status_code == 200
    body = response.json()
    assert body["totals"] == {"items": 3, "new": 1, "updated": 1, "unchanged": 1}
    assert [(r["index"], r["status"]) for r in body["results"]] == [
        (0, "updated"),
        (1, "new"),
        (2, "unchanged"),
    ]
    existing.refresh_from_db()
    created = Contact.objects.get(external_id="K-2")
    assert (existing.first_name, existing.source) == ("Anne", "api")
    assert (created.phone, created.occupation, created.source) == ("+33612345678", "PAYER", "api")
    assert body["results"][1]["contact"]["id"] == created.pk
    assert body["results"][2]["contact"]["id"] == unchanged.pk
    assert body["warnings"] == []


def test_one_invalid_item_saves_nothing_and_errors_are_keyed_by_index(api, org):
    customer = CustomerFactory(organization=org)
    ContactFactory(customer=customer, external_id="K-1", first_name="Ann")
    before = snapshot()

    response = api.post(
        BULK,
        [
            item(customer, "K-1", firstName="Changed"),
            item(customer, "K-2", email="k2@"),
            item(customer, "K-3", position="boss", isMain="maybe"),
            {"customerExternalId": "NOPE", "externalId": "K-4", "email": "k4@client.example"},
        ],
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": INVALID_ITEMS.format(count=3, total=4),
        "errors": {
            "1.email": [INVALID_EMAIL.format(value="k2@")],
            "2.position": [
                OCCUPATION_INVALID.format(value="boss", allowed="ACCOUNTING, SALES, PURCHASER, PAYER")
            ],
            "2.isMain": [MAIN_CONTACT_INVALID.format(value="maybe")],
            "3.customerExternalId": [CUSTOMER_UNKNOWN.format(organization=org.name, value="NOPE")],
        },
    }
    assert snapshot() == before


def test_the_same_identifier_code_twice_is_refused_with_the_import_message(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(BULK, [item(customer, "K-1"), item(customer, "K-1", email="other@client.example")])

    assert response.status_code == 400
    message = CONTACT_ID_REPEATED.format(value="K-1", rows="items 0 and 1")
    assert response.json()["errors"] == {"0.externalId": [message], "1.externalId": [message]}
    assert Contact.objects.count() == 0


def test_the_last_main_contact_wins_and_demotes_the_stored_one(api, org):
    customer = CustomerFactory(organization=org)
    stored_main = ContactFactory(customer=customer, is_main=True)

    response = api.post(
        BULK, [item(customer, "K-1", isMain=True), item(customer, "K-2", isMain="yes"), item(customer, "K-3")]
    )

    assert response.status_code == 200
    mains = list(
        Contact.objects.filter(customer=customer, is_main=True).values_list("external_id", flat=True)
    )
    assert mains == ["K-2"]
    stored_main.refresh_from_db()
    assert stored_main.is_main is False
    message = MAIN_CONTACT_LAST_WINS.format(code=customer.external_id, rows="items 0 and 1", row="item 1")
    demoted = MAIN_CONTACT_DEMOTED.format(
        contact=stored_main.external_id,
        email=stored_main.email,
        code=customer.external_id,
        row="item 1",
    )
    assert response.json()["warnings"] == [
        {"index": 1, "field": "isMain", "message": message},
        {"index": 1, "field": "isMain", "message": demoted},
    ]


def test_bulk_runs_a_constant_number_of_queries(api, org):
    customers = CustomerFactory.create_batch(3, organization=org)

    def queries_for(count: int, prefix: str) -> tuple[int, int, int]:
        """(other queries, the contacts' writes, the change log's writes), leaving out the API key's."""
        items = [item(customers[i % 3], f"{prefix}-{i}") for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            response = api.post(BULK, items)
        assert response.status_code == 200
        sql = [q["sql"] for q in captured.captured_queries if "organizationapikey" not in q["sql"]]
        writes = [
            sum(1 for q in sql if q.startswith((f'INSERT INTO "{table}"', f'COPY "{table}"')))
            for table in ("contacts_contact", "contacts_contactchange")
        ]
        return len(sql) - sum(writes), *writes

    small, large = queries_for(5, "A"), queries_for(300, "B")

    assert large[0] == small[0]
    # PostgreSQL writes each with one COPY; SQLite caps the parameters of one statement, so its
    # INSERTs come in slices of the batch.
    for writes in large[1:]:
        assert writes == 1 if connection.vendor == "postgresql" else writes <= 300 // 50
    assert Contact.objects.count() == 305


def test_bulk_accepts_a_thousand_items(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(BULK, [item(customer, f"K-{i}") for i in range(MAX_ITEMS)])

    assert (response.status_code, response.json()["totals"]["new"]) == (200, MAX_ITEMS)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"externalId": "K-1"}, NOT_A_LIST),
        ([], NO_ITEMS),
        ("text", NOT_A_LIST),
    ],
)
def test_a_body_that_is_not_a_list_of_items_is_a_400(api, org, body, message):
    response = api.post(BULK, body)

    assert (response.status_code, response.json()["message"]) == (400, message)


def test_more_than_a_thousand_items_is_a_400_and_saves_nothing(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(BULK, [item(customer, f"K-{i}") for i in range(MAX_ITEMS + 1)])

    assert response.status_code == 400
    assert response.json()["message"] == TOO_MANY_ITEMS.format(limit=MAX_ITEMS, count=MAX_ITEMS + 1)
    assert Contact.objects.count() == 0


def test_items_of_the_wrong_type_are_refused_by_index(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(
        BULK,
        [
            item(customer, "K-1"),
            "K-2",
            item(customer, "K-3", firstName={"nested": 1}),
            item(customer, "K-4", lastName="nul\x00byte"),
        ],
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "1": [NOT_AN_OBJECT],
        "2.firstName": [NOT_A_VALUE],
        "3.lastName": [FORBIDDEN_CHARACTER],
    }
    assert Contact.objects.count() == 0


def test_bulk_is_refused_with_409_while_contacts_are_synced(synced_api, synced_org):
    customer = CustomerFactory(organization=synced_org)

    response = synced_api.post(BULK, [item(customer, "K-1")])

    assert response.status_code == 409
    assert response.json()["message"] == CONTACTS_SYNCED.format(organization=synced_org.name)
    assert Contact.objects.count() == 0


def test_a_numeric_phone_is_read_like_a_spreadsheet_cell(api, org):
    customer = CustomerFactory(organization=org)

    response = api.post(BULK, [item(customer, "K-1", phone=33612345678)])

    assert response.status_code == 200
    assert Contact.objects.get().phone == "+33612345678"
