"""The contact fields a person or a program can write, declared once.

Each field has its model name (also the key of a row for the bulk rules), the help article's English
spreadsheet header, its French header and its REST API name. Every other list of contact fields (the
spreadsheet columns, the services' editable fields, the API's names, the templates and exports) is
derived from `FIELDS`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ContactField:
    name: str  # the model's field (or the row key, for the two customer columns)
    english: str  # the help article's header
    french: str  # the same header in French, as French clients write it
    api: str  # the REST API's camelCase name
    mandatory: bool = False  # a spreadsheet must have this column
    on_contact: bool = True  # False: a column naming the customer, not a field of the contact


FIELDS: tuple[ContactField, ...] = (
    ContactField(
        "customer_name", "Customer name", "Nom du client", "customerName", mandatory=True, on_contact=False
    ),
    ContactField(
        "customer_external_id",
        "External identification code",
        "Code d'identification externe",
        "customerExternalId",
        mandatory=True,
        on_contact=False,
    ),
    ContactField(
        "external_id", "Contact's Identifier code", "Identifiant du contact", "externalId", mandatory=True
    ),
    ContactField("email", "Contact's Email", "Email du contact", "email", mandatory=True),
    ContactField("first_name", "Contact's First Name", "Prénom du contact", "firstName"),
    ContactField("last_name", "Contact's Last Name", "Nom du contact", "lastName"),
    ContactField("phone", "Contact's Telephone Number", "Téléphone du contact", "phone"),
    ContactField("occupation", "Occupation", "Fonction", "position"),
    ContactField("is_main", "Main Contact", "Contact principal", "isMain"),
)
BY_NAME = {field.name: field for field in FIELDS}

# The spreadsheet's columns, in the template's order.
SPREADSHEET_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS)
MANDATORY_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.mandatory)
# The fields of a contact that writes may set, in the model's order.
CONTACT_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.on_contact)

ENGLISH_HEADERS: dict[str, str] = {field.name: field.english for field in FIELDS}
FRENCH_HEADERS: dict[str, str] = {field.name: field.french for field in FIELDS}


def headers_in(language: str | None) -> dict[str, str]:
    """The template's headers in `language` ("fr" or a French variant), else in English."""
    return FRENCH_HEADERS if (language or "").startswith("fr") else ENGLISH_HEADERS


API_NAMES: dict[str, str] = {field.name: field.api for field in FIELDS}
