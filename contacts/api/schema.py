"""What the OpenAPI schema says beyond the serializers: every status the server may answer with its
error body, the headers of every response, the request headers, and the links a client follows from a
created contact to its other operations (a generated client and schemathesis' stateful tests use them).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from contacts.api.lookups import REF_DESCRIPTION, REF_PATTERN
from contacts.api.middleware import VALID_ID
from contacts.api.serializers import ErrorSerializer

ERROR_DESCRIPTIONS = {
    400: "Invalid values or query parameters; `errors` says which, by name.",
    401: "Missing, wrong, revoked or expired API key.",
    403: "The API key is read-only.",
    404: "No such object in your organization.",
    405: "This URL does not take this method; `Allow` lists the ones it takes.",
    406: "The API answers JSON only (`Accept: application/json`).",
    409: (
        "Contacts are still synced from invoicing (only `position` may change), a concurrent request "
        "changed the customer's main contact, or a request with the same Idempotency-Key is running."
    ),
    411: "The body came without Content-Length (chunked): send its length.",
    412: "`If-Match` names a version the contact no longer has: read it again.",
    413: "The request body is too large.",
    414: "The URL is too long.",
    415: "The body is not JSON (`Content-Type: application/json`).",
    422: "This Idempotency-Key was used for another request.",
    429: "Too many requests (for this key, or wrong keys from this address): retry after `Retry-After`.",
    431: "The request's headers are too large.",
    500: "Something went wrong on our side; it was logged. Retrying is safe with an Idempotency-Key.",
}
ALWAYS = (401, 405, 406, 411, 414, 429, 431, 500)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error responses of an operation: `codes` and those every operation may answer."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in sorted({*codes, *ALWAYS})
    }


READ_ERRORS = errors(400, 404)
WRITE_ERRORS = errors(400, 403, 404, 409, 413, 415)

CUSTOMER_REF = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description=REF_DESCRIPTION, pattern=REF_PATTERN
)
CONTACT_REF = OpenApiParameter(
    "contactId", OpenApiTypes.STR, OpenApiParameter.PATH, description=REF_DESCRIPTION, pattern=REF_PATTERN
)


REQUEST_ID_PATTERN = f"^{VALID_ID.pattern}$"


def _header(description: str, schema_type: str = "integer") -> dict:
    return {"description": description, "schema": {"type": schema_type}}


RESPONSE_HEADERS = {
    "RateLimit-Limit": _header(
        "Requests allowed in the current window (for this key; for a request "
        "without a valid key, wrong keys allowed from this address)."
    ),
    "RateLimit-Remaining": _header("Requests left in the current window."),
    "RateLimit-Reset": _header("Seconds until the window ends and the count starts again."),
    "RateLimit-Policy": _header("The limit and its window in seconds, e.g. `600;w=60`.", "string"),
    "X-Request-Id": {
        "description": "The request's id (yours when you sent a valid X-Request-Id); quote it when you "
        "contact us.",
        "schema": {"type": "string", "maxLength": 128, "pattern": REQUEST_ID_PATTERN},
    },
}
RETRY_AFTER = _header("Seconds to wait before sending the request again.")
LOCATION = _header("The URL of the created contact.", "string")
ETAG = _header(
    "The contact's version: send it in `If-Match` to change it only if nobody did since.", "string"
)
REPLAYED = _header(
    "`true` when this response is the stored answer to an earlier request with the same Idempotency-Key.",
    "string",
)

REQUEST_ID_PARAMETER = {
    "name": "X-Request-Id",
    "in": "header",
    "required": False,
    "description": "Your id for the request, echoed in the response and written in our logs when it "
    "is 1 to 128 letters, digits, `-`, `_`, `.` or `:` (the response's X-Request-Id pattern); any "
    "other value, or none, is replaced by an id of ours, never refused.",
    # No pattern here: an id that does not fit is replaced, not refused (a pattern would say a 400).
    "schema": {"type": "string"},
}
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A unique key of your choice (a UUID) for this request: sending the same request "
    "again with the same key within 24 hours replays the first response instead of running it again "
    "(422 if the key was used for a different request).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
IF_MATCH_PARAMETER = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The contact's ETag as you read it: the write happens only if the contact has not "
    "changed since (else 412). `*` requires the contact to exist.",
    "schema": {"type": "string"},
}

CONTACT_ID = {"id": "$response.body#/customerId", "contactId": "$response.body#/id"}
CONTACT_LINKS = {
    "GetContact": {"operationId": "getContact", "parameters": CONTACT_ID},
    "UpdateContact": {"operationId": "updateContact", "parameters": CONTACT_ID},
    "UpsertContact": {"operationId": "upsertContact", "parameters": CONTACT_ID},
    "DeleteContact": {"operationId": "deleteContact", "parameters": CONTACT_ID},
}
FIRST_BULK_CONTACT = {
    "id": "$response.body#/results/0/contact/customerId",
    "contactId": "$response.body#/results/0/contact/id",
}
CUSTOMER_LINKS = {
    "ListCustomerContacts": {
        "operationId": "listCustomerContacts",
        "parameters": {"id": "$response.body#/id"},
    },
    "CreateContact": {"operationId": "createContact", "parameters": {"id": "$response.body#/id"}},
}
# operationId → {status: links}
LINKS = {
    "createContact": {"201": CONTACT_LINKS},
    "upsertContact": {"200": CONTACT_LINKS, "201": CONTACT_LINKS},
    "updateContact": {"200": CONTACT_LINKS},
    "getContact": {"200": CONTACT_LINKS},
    "getCustomer": {"200": CUSTOMER_LINKS},
    "bulkUpsertContacts": {
        "200": {
            name: {**link, "parameters": FIRST_BULK_CONTACT}
            for name, link in CONTACT_LINKS.items()
            if name in ("GetContact", "UpdateContact", "DeleteContact")
        }
    },
}


def _returns_a_contact(response: dict) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").endswith("/Contact")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


HEADER_COMPONENTS = {
    **RESPONSE_HEADERS,
    "Retry-After": RETRY_AFTER,
    "Location": LOCATION,
    "ETag": ETAG,
    "Idempotent-Replayed": REPLAYED,
}


def _add_headers(operation: dict, method: str) -> None:
    operation.setdefault("parameters", []).append(REQUEST_ID_PARAMETER)
    if method == "post":
        operation["parameters"].append(IDEMPOTENCY_PARAMETER)
    if method in ("put", "patch", "delete") and "contactId" in str(operation["parameters"]):
        operation["parameters"].append(IF_MATCH_PARAMETER)
    for code, response in operation["responses"].items():
        names = list(RESPONSE_HEADERS)
        if code == "429" or (code == "409" and method == "post"):
            names.append("Retry-After")  # a 409 to a POST: its Idempotency-Key is still in use
        if code == "201":
            names.append("Location")
        if _returns_a_contact(response):
            names.append("ETag")
        if method == "post" and code.startswith(("2", "4")):
            names.append("Idempotent-Replayed")
        response.setdefault("headers", {}).update({name: _ref(name) for name in names})


def postprocess(result, generator, request, public):
    """drf-spectacular's last step: the headers and links of every operation (SPECTACULAR_SETTINGS)."""
    result.setdefault("components", {})["headers"] = HEADER_COMPONENTS
    for name, component in result["components"].get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False  # an unknown field is a 400 (names.py)
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            _add_headers(operation, method)
            for code, links in LINKS.get(operation.get("operationId"), {}).items():
                if code in operation["responses"]:
                    operation["responses"][code]["links"] = links
    return result
