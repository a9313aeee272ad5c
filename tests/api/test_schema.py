import json
import re

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import ContactFactory, CustomerFactory, OrganizationFactory
from tests.helpers import api_key_for

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/v1/customers", "get"),
    ("/api/v1/customers/{id}", "get"),
    ("/api/v1/customers/{id}/contacts", "get"),
    ("/api/v1/customers/{id}/contacts", "post"),
    ("/api/v1/customers/{id}/contacts/{contactId}", "get"),
    ("/api/v1/customers/{id}/contacts/{contactId}", "patch"),
    ("/api/v1/customers/{id}/contacts/{contactId}", "put"),
    ("/api/v1/customers/{id}/contacts/{contactId}", "delete"),
    ("/api/v1/contacts", "get"),
    ("/api/v1/contacts/bulk", "post"),
    ("/api/v1/contacts/changes", "get"),
}


def test_the_schema_describes_every_endpoint_with_the_api_key(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations == OPERATIONS
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "Your organization's API key (also accepted: `Authorization: Api-Key KEY`).",
    }
    contact = schema["components"]["schemas"]["Contact"]["properties"]
    assert {"externalId", "customerExternalId", "isMain", "position", "updatedAt"} <= set(contact)


def test_the_docs_page_loads_nothing_from_another_site(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    urls += re.findall(r"""url\s*:\s*["']([^"']+)["']""", page)
    assert any("swagger-ui" in url for url in urls)
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "http://" not in page
    assert "https://" not in page


def _in_process_schema():
    """The API's schema, generated without a request, answered by the WSGI app in-process."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))
    loaded.app = get_wsgi_application()  # what schemathesis.openapi.from_wsgi does after loading
    return loaded


schema = _in_process_schema()


@pytest.fixture
def api_key_header(settings):
    """A key of an organization that has a customer and contacts; no throttling in the way."""
    settings.API_THROTTLE_RATE = "1000000/min"
    settings.ALLOWED_HOSTS = ["localhost"]  # schemathesis's WSGI client calls this host
    org = OrganizationFactory()
    customer = CustomerFactory(organization=org, external_id="CUST-1")
    ContactFactory(customer=customer, external_id="K-1", is_main=True)
    # Django closes connections at the end of each request it serves; inside the test's transaction
    # that would end the test. Its own test client holds these signals back the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"X-Api-Key": api_key_for(org)}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis.settings(
    max_examples=30, deadline=None, suppress_health_check=list(hypothesis.HealthCheck), derandomize=True
)
def test_the_api_answers_every_generated_request_as_its_schema_says(case, api_key_header):
    case.call_and_validate(
        headers=api_key_header,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
