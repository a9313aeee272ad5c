"""A client generated from /api/schema/ by openapi-python-client (offline, in the test run) drives the
API: what the schema says is what a generated client can do."""

import importlib
import json
import subprocess
import sys
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from tests.factories import CustomerFactory, OrganizationFactory
from tests.helpers import api_key_for

PACKAGE = "contacts_api_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The generated package, imported from a temporary folder."""
    folder = tmp_path_factory.mktemp("generated-client")
    schema = folder / "schema.json"
    schema.write_bytes(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    config = folder / "config.json"
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": PACKAGE}))
    generator = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    subprocess.run(
        [*generator, "--path", str(schema), "--config", str(config), "--output-path", str(folder / PACKAGE)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def operation(name: str):
    return importlib.import_module(f"{PACKAGE}.api.contacts.{name}")


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_creates_updates_without_email_bulks_lists_and_deletes(generated, live_server):
    models = importlib.import_module(f"{PACKAGE}.models")
    org = OrganizationFactory()
    customer = CustomerFactory(organization=org, external_id="C-1")
    client = generated.AuthenticatedClient(
        base_url=live_server.url,
        token=api_key_for(org),
        prefix="",
        auth_header_name="X-Api-Key",
        raise_on_unexpected_status=True,
    )
    customer_id = str(customer.pk)

    created = operation("create_contact").sync_detailed(
        customer_id,
        client=client,
        body=models.ContactWriteRequest(external_id="K-1", email="ann@client.example", is_main=True),
        idempotency_key=str(uuid.uuid4()),
    )
    assert created.status_code == 201
    contact = created.parsed
    assert (contact.external_id, contact.is_main, contact.position) == ("K-1", True, None)

    upsert = operation("upsert_contact").sync_detailed(
        customer_id,
        "external:K-1",
        client=client,
        body=models.ContactUpsertRequest(first_name="Ann", position=models.PositionEnum.PAYER),
        if_match=created.headers["ETag"],
    )
    assert upsert.status_code == 200
    assert (upsert.parsed.first_name, upsert.parsed.email) == ("Ann", "ann@client.example")
    assert upsert.parsed.position == models.PositionEnum.PAYER

    patched = operation("update_contact").sync(
        customer_id, str(contact.id), client=client, body=models.PatchedContactUpdateRequest(last_name="Lee")
    )
    assert patched.last_name == "Lee"

    bulk = operation("bulk_upsert_contacts").sync(
        client=client,
        body=[
            models.BulkContactRequest(
                customer_external_id="C-1", external_id="K-2", email="bob@client.example"
            ),
            models.BulkContactRequest(customer_external_id="C-1", external_id="K-1", phone="06 12 34 56 78"),
        ],
    )
    assert isinstance(bulk, models.BulkResult)
    assert [(r.index, r.status) for r in bulk.results] == [
        (0, models.StatusEnum.NEW),
        (1, models.StatusEnum.UPDATED),
    ]

    listed = operation("list_contacts").sync(client=client, customer_external_id="C-1", limit=10)
    assert listed.total == 2
    assert [c.external_id for c in listed.results] == ["K-1", "K-2"]
    assert listed.results[0].phone == "+33612345678"

    refused = operation("list_contacts").sync_detailed(client=client, email="")
    assert refused.status_code == 400
    assert isinstance(refused.parsed, models.Error)

    deleted = operation("delete_contact").sync_detailed(customer_id, str(contact.id), client=client)
    assert deleted.status_code == 204
    assert operation("list_contacts").sync(client=client).total == 1
