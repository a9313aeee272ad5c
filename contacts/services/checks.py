"""The checks of one row, field by field, with their messages beside them; then the main contacts.

`RowChecks` holds what the checks of one plan share: the stored data read up front, and what earlier
rows claimed (emails, identifier codes, main contacts). It never queries the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from contacts.fields import CONTACT_FIELDS, SPREADSHEET_FIELDS
from contacts.models import Contact
from contacts.normalization import (
    PhoneReader,
    email_of_cell,
    identifier_problem,
    one_line_text,
    shown,
)
from contacts.services.contacts import CONTACT_OF_ANOTHER_CUSTOMER
from contacts.services.dates import (
    DATE_FIRST,
    DATE_REFUSED_FIELDS,
    excel_date_problem,
    looks_like_a_date,
    phone_date_problem,
)
from contacts.services.rows import (
    Problem,
    RowInput,
    RowOutcome,
    RowPolicy,
    StoredContact,
    comparable_code,
    comparable_name,
    row_list,
    row_phrase,
)
from contacts.services.values import (
    EXCEL_ERROR,
    OCCUPATIONS,
    cell_text,
    occupation_value,
    parse_main_contact,
    shortened_number,
)
from customers.models import Organization

BLANK_CONTACT = {name: "" for name in CONTACT_FIELDS} | {"is_main": False}
# The fields a blank cell keeps on an existing contact: all but the identifier code, which names the contact,
# and Main Contact, which keeps a blank in any case.
KEEPABLE = tuple(name for name in CONTACT_FIELDS if name not in ("external_id", "is_main"))
CHECK_ORDER = ("customer_external_id", "external_id", *KEEPABLE)
NO_DATES: frozenset[str] = frozenset()
MAX_LENGTHS = {name: Contact._meta.get_field(name).max_length for name in CONTACT_FIELDS if name != "is_main"}

TOO_LONG = _("This value is too long ({length} characters); at most {limit} are allowed.")
CUSTOMER_ID_REQUIRED = _("The customer's external identification code is required.")
CUSTOMER_NAME_REQUIRED = _("The customer name is required.")
CONTACT_ID_REQUIRED = _("The contact's identifier code is required.")
CUSTOMER_UNKNOWN = _('No customer of {organization} has the external identification code "{value}".')
CUSTOMER_UNKNOWN_NEAR = _(
    'No customer of {organization} has the external identification code "{value}"; did you mean '
    '"{code}" ({name})?'
)
CUSTOMER_CODE_LOOKS_LIKE_A_DATE = _(
    'No customer of {organization} has the external identification code "{value}", which looks like a '
    "date: if Excel turned the code into a date, format the column as Text and type it again."
)
CUSTOMER_NAME_DIFFERS = _(
    'The customer name "{value}" differs from the stored name "{stored}" ({rows}); the contact is '
    'attached to the customer with code "{code}" and the customer name is not changed.'
)
CONTACT_ID_REPEATED = _(
    'The identifier code "{value}" is used more than once ({rows}); keep one row per contact.'
)
EMAIL_USED_EARLIER = _("Another contact of this customer already uses this email address ({row}).")
EMAIL_TAKEN_BY = _(
    'Another contact of this customer already uses this email address: {name} (identifier code "{code}").'
)
EMAIL_TAKEN_BY_CODE = _(
    "Another contact of this customer already uses this email address: the contact with identifier code "
    '"{code}".'
)
CONTACT_ID_LOOKS_LIKE_A_DATE = _(
    'The identifier code "{value}" looks like a date: if Excel turned the code into a date, format the '
    "column as Text and type it again; if it is the real code, ignore this warning."
)
OCCUPATION_INVALID = _('"{value}" is not an occupation; use one of {allowed}, or leave it blank.')
MAIN_CONTACT_INVALID = _(
    '"{value}" is not a main contact value; write 1, yes, true, oui or x for the main contact, '
    "and 0, no, false, non or nothing otherwise."
)


def repeated_identifiers(rows: list[RowInput], texts: list[dict[str, str]]) -> tuple[dict, dict]:
    """Each identifier code's first row, and every row of the codes given more than once."""
    first_rows: dict[str, int] = {}
    repeated_rows: dict[str, list[int]] = {}
    for row, t in zip(rows, texts, strict=True):
        external_id = t.get("external_id")
        if external_id:
            first = first_rows.setdefault(external_id, row.row)
            if first != row.row:
                repeated_rows.setdefault(external_id, [first]).append(row.row)
    return first_rows, repeated_rows


# The organization's customers by comparable code (None: two customers share it), read only when a row
# names an unknown customer.
NearCustomers = Callable[[], dict[str, tuple[str, str] | None]]


class RowChecks:
    """Checks rows one by one against the stored data and the rows before them."""

    def __init__(
        self,
        organization: Organization,
        customers: dict[str, tuple[int, str]],
        stored_contacts: list[StoredContact],
        repeated_rows: dict[str, list[int]],
        row_label: str,
        policy: RowPolicy,
        near_customers: NearCustomers = dict,
    ) -> None:
        self.organization = organization
        self.region = organization.default_phone_region
        self.customers = customers
        self.repeated_rows = repeated_rows
        self.row_label = row_label
        self.blank_clears = policy.blank_clears
        self.near_customers = near_customers
        self.near: dict[str, tuple[str, str] | None] | None = None
        self.by_external_id = {c["external_id"]: c for c in stored_contacts}
        self.stored_by_id = {c["id"]: c for c in stored_contacts}
        # customer id -> lower-cased email -> contact id, to find a clash without the contact itself.
        self.stored_emails: dict[int, dict[str, int]] = defaultdict(dict)
        self.stored_mains: dict[int, StoredContact] = {}
        for contact in stored_contacts:
            self.stored_emails[contact["customer_id"]][contact["email"].lower()] = contact["id"]
            if contact["is_main"]:
                self.stored_mains[contact["customer_id"]] = contact
        self.code_of_customer = {pk: code for code, (pk, _name) in customers.items()}
        self.name_mismatches: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.file_emails: dict[tuple[int, str], int] = {}
        self.read_phone = PhoneReader(self.region)
        self.main_claims: list[RowOutcome] = []  # outcomes whose row says "main contact"
        self.warnings: list[Problem] = []  # about one row's cell (an email read out of a longer text…)

    def check(self, row: RowInput, t: dict[str, str]) -> RowOutcome:
        """What this row would do: its values after the write, or its errors."""
        errors = [Problem(row.row, None, message) for message in row.problems] if row.problems else []
        dated = self.excel_dates(row, errors) if row.dates else NO_DATES
        if row.excel_errors:
            # Refused as a date is: an error, and the cell is not read further.
            dated = dated | self.excel_errors(row, errors)
        customer_id = self.customer(row.row, t, errors, dated)
        stored = self.identifier(row.row, t, customer_id, errors, dated)
        if stored is not None:
            values: dict[str, object] = {name: stored[name] for name in CONTACT_FIELDS}
        else:
            values = {**BLANK_CONTACT, "external_id": t.get("external_id", "")}
        kept: tuple[str, ...] = ()
        if dated or (stored is not None and not self.blank_clears):
            # An existing contact's blank cell keeps its stored value (unless the policy says it clears
            # it): read as if its column were absent. So is a cell refused as an Excel date.
            t, kept = self.without_kept(t, stored, dated)
        if "email" in t or (stored is None and "email" not in dated):
            self.email(row.row, t.get("email", ""), customer_id, stored, values, errors)
        for name in ("first_name", "last_name"):
            if name in t:
                self.name(row.row, name, t[name], values, errors)
        if "phone" in t:
            self.phone(row.row, t["phone"], values, errors)
        if "occupation" in t:
            self.occupation(row.row, t["occupation"], values, errors)
        claims_main = (
            "is_main" in row.values
            and "is_main" not in dated
            and self.main_contact(row.row, row.values["is_main"], values, errors)
        )
        outcome = RowOutcome(
            row=row.row,
            status="invalid" if errors else "",
            values=values,
            previous=None,
            contact_id=stored["id"] if stored else None,
            customer_id=customer_id,
            errors=errors,
            kept=kept,
        )
        if claims_main:
            self.main_claims.append(outcome)
        return outcome

    def without_kept(
        self, t: dict[str, str], stored: StoredContact | None, dated: frozenset[str]
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """The row without its blank cells that keep a stored value, nor its cells refused as dates;
        and the fields whose stored value a blank cell kept."""
        keep = stored is not None and not self.blank_clears
        left_out = [name for name in KEEPABLE if name in dated or (keep and name in t and not t[name])]
        kept = tuple(name for name in left_out if name not in dated and stored[name])
        return {key: value for key, value in t.items() if key not in left_out}, kept

    def excel_dates(self, row: RowInput, errors: list[Problem]) -> frozenset[str]:
        """The cells Excel typed as dates where text was meant: each is an error, and is not read further."""
        dated = row.dates & DATE_REFUSED_FIELDS
        for name in sorted(dated, key=CHECK_ORDER.index):
            errors.append(Problem(row.row, name, excel_date_problem(cell_text(row.values.get(name)))))
        return dated

    def excel_errors(self, row: RowInput, errors: list[Problem]) -> frozenset[str]:
        """The cells showing an Excel error (#N/A): each is an error, and is not read further."""
        for name in sorted(row.excel_errors, key=SPREADSHEET_FIELDS.index):
            errors.append(Problem(row.row, name, EXCEL_ERROR.format(error=row.values[name])))
        return row.excel_errors

    # --- The customer ---------------------------------------------------------------------------
    def customer(
        self, row: int, t: dict[str, str], errors: list[Problem], dated: frozenset[str]
    ) -> int | None:
        """The customer's id, from its code; a differing name is only a warning (names_warnings)."""
        customer_id = stored_name = None
        code = t.get("customer_external_id", "")
        if dated and "customer_external_id" in dated:
            pass
        elif not code:
            errors.append(Problem(row, "customer_external_id", CUSTOMER_ID_REQUIRED))
        elif code not in self.customers:
            message = shortened_number(code) or self.unknown_customer(code)
            errors.append(Problem(row, "customer_external_id", message))
        else:
            customer_id, stored_name = self.customers[code]
        if "customer_name" in t and "customer_name" not in dated:
            name = t["customer_name"]
            if not name:
                errors.append(Problem(row, "customer_name", CUSTOMER_NAME_REQUIRED))
            elif customer_id is not None and comparable_name(name) != comparable_name(stored_name):
                self.name_mismatches[(code, name)].append(row)
        return customer_id

    def unknown_customer(self, code: str) -> str:
        """Why no customer has this code, with the stored code it nearly is, if one."""
        if unprintable := identifier_problem(code):
            return unprintable
        if self.near is None:
            self.near = self.near_customers()
        near = self.near.get(comparable_code(code))
        organization = self.organization.name
        if near is not None:
            near_code, name = near
            return CUSTOMER_UNKNOWN_NEAR.format(
                organization=organization, value=shown(code), code=shown(near_code), name=shown(name)
            )
        if looks_like_a_date(code):
            return CUSTOMER_CODE_LOOKS_LIKE_A_DATE.format(organization=organization, value=shown(code))
        return CUSTOMER_UNKNOWN.format(organization=organization, value=shown(code))

    def name_warnings(self) -> list[Problem]:
        """One warning per customer name that differs from the stored one, listing its rows."""
        warnings = []
        for (code, name), rows in self.name_mismatches.items():
            message = CUSTOMER_NAME_DIFFERS.format(
                value=shown(name),
                stored=shown(self.customers[code][1]),
                rows=row_list(rows, self.row_label),
                code=shown(code),
            )
            warnings.append(Problem(rows[0], "customer_name", message))
        return warnings

    # --- The contact's identifier code ----------------------------------------------------------
    def identifier(
        self,
        row: int,
        t: dict[str, str],
        customer_id: int | None,
        errors: list[Problem],
        dated: frozenset[str],
    ) -> StoredContact | None:
        """The stored contact this row updates, if any (never one of another customer)."""
        external_id = t.get("external_id", "")
        limit = MAX_LENGTHS["external_id"]
        if dated and "external_id" in dated:
            return None
        if not external_id:
            errors.append(Problem(row, "external_id", CONTACT_ID_REQUIRED))
            return None
        if len(external_id) > limit:
            errors.append(Problem(row, "external_id", TOO_LONG.format(length=len(external_id), limit=limit)))
            return None
        if unprintable := identifier_problem(external_id):
            errors.append(Problem(row, "external_id", unprintable))
            return None
        if external_id in self.repeated_rows:
            rows = row_list(self.repeated_rows[external_id], self.row_label)
            message = CONTACT_ID_REPEATED.format(value=shown(external_id), rows=rows)
            errors.append(Problem(row, "external_id", message))
        stored = self.by_external_id.get(external_id)
        if stored is None and (shortened := shortened_number(external_id)):
            errors.append(Problem(row, "external_id", shortened))
            return None
        if stored is not None and customer_id is not None and stored["customer_id"] != customer_id:
            other = stored["customer__external_id"]
            message = CONTACT_OF_ANOTHER_CUSTOMER.format(value=shown(external_id), code=shown(other))
            errors.append(Problem(row, "external_id", message))
            return None
        # The first character rules out nearly every code before the pattern runs (1 row in 1: a new contact).
        if stored is None and external_id[0] in DATE_FIRST and looks_like_a_date(external_id):
            message = CONTACT_ID_LOOKS_LIKE_A_DATE.format(value=shown(external_id))
            self.warnings.append(Problem(row, "external_id", message))
        return stored

    # --- Email, names, phone, occupation --------------------------------------------------------
    def email(
        self,
        row: int,
        raw: str,
        customer_id: int | None,
        stored: StoredContact | None,
        values: dict,
        errors: list[Problem],
    ) -> None:
        try:
            email, notes = email_of_cell(raw)
        except ValidationError as invalid:
            errors.append(Problem(row, "email", invalid.messages[0]))
            return
        if notes:
            self.warnings.extend(Problem(row, "email", note) for note in notes)
        values["email"] = email
        if customer_id is None:
            return
        owner = self.stored_emails[customer_id].get(email)
        if owner is not None and (stored is None or owner != stored["id"]):
            errors.append(Problem(row, "email", self.email_owner(owner)))
        earlier = self.file_emails.setdefault((customer_id, email), row)
        if earlier != row:
            message = EMAIL_USED_EARLIER.format(row=row_phrase(earlier, self.row_label))
            errors.append(Problem(row, "email", message))

    def email_owner(self, contact_id: int) -> str:
        """The stored contact using an email, named for the person fixing the file."""
        owner = self.stored_by_id[contact_id]
        name = f"{owner['first_name']} {owner['last_name']}".strip()
        if name:
            return EMAIL_TAKEN_BY.format(name=shown(name), code=shown(owner["external_id"]))
        return EMAIL_TAKEN_BY_CODE.format(code=shown(owner["external_id"]))

    def name(self, row: int, name: str, text: str, values: dict, errors: list[Problem]) -> None:
        if not text.isprintable():  # nearly every name is: no call for them
            text = one_line_text(text)
        if len(text) > MAX_LENGTHS[name]:
            errors.append(Problem(row, name, TOO_LONG.format(length=len(text), limit=MAX_LENGTHS[name])))
        else:
            values[name] = text

    def phone(self, row: int, raw: str, values: dict, errors: list[Problem]) -> None:
        phone = self.read_phone(raw)
        if isinstance(phone, ValidationError):
            if looks_like_a_date(raw):
                message = phone_date_problem(raw)
            else:
                message = shortened_number(raw) or phone.messages[0]
            errors.append(Problem(row, "phone", message))
        else:
            values["phone"] = phone

    def occupation(self, row: int, text: str, values: dict, errors: list[Problem]) -> None:
        occupation = occupation_value(text)
        if occupation is None:
            message = OCCUPATION_INVALID.format(value=shown(text), allowed=", ".join(OCCUPATIONS))
            errors.append(Problem(row, "occupation", message))
        else:
            values["occupation"] = occupation

    # --- Main contact ----------------------------------------------------------------------------
    def main_contact(self, row: int, raw: object, values: dict, errors: list[Problem]) -> bool:
        """True when the row makes its contact main; a blank cell keeps the stored value."""
        try:
            is_main = parse_main_contact(raw)
        except ValueError:
            errors.append(Problem(row, "is_main", MAIN_CONTACT_INVALID.format(value=shown(cell_text(raw)))))
            return False
        if is_main is None:
            return False
        values["is_main"] = is_main
        return is_main
