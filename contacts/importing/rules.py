"""Row rules shared by the spreadsheet import and the API's bulk endpoint.

`plan_rows` resolves every lookup up front (one query for the customers, one for the contacts),
checks all rows in memory and says what each row would do; `apply_plan` writes the valid rows in
batches inside one transaction. Neither knows about files: rows arrive as `RowInput` values.
"""

from __future__ import annotations

import datetime
import functools
import unicodedata
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.importing.limits import lock_organization
from contacts.models import EMAIL_TAKEN, Contact
from contacts.normalization import identifier_problem, normalize_email, normalize_phone, shown
from contacts.services import ensure_contacts_managed, integrity_validation_error
from customers.models import Customer, Organization

# The contact fields a row can set, in the order of the model.
CONTACT_FIELDS = ("external_id", "email", "first_name", "last_name", "phone", "occupation", "is_main")
STORED_FIELDS = ("id", "customer_id", *CONTACT_FIELDS)
BLANK_CONTACT = {name: "" for name in CONTACT_FIELDS} | {"is_main": False}

TRUE_WORDS = frozenset({"1", "yes", "true", "oui", "x"})
FALSE_WORDS = frozenset({"0", "no", "false", "non"})
OCCUPATIONS = tuple(Contact.Occupation.values)

CUSTOMER_ID_REQUIRED = "The customer's external identification code is required."
CUSTOMER_UNKNOWN = 'No customer of {organization} has the external identification code "{value}".'
CUSTOMER_NAME_REQUIRED = "The customer name is required."
CUSTOMER_NAME_DIFFERS = (
    'The customer name "{value}" differs from the stored name "{stored}" ({rows}); the contact is '
    'attached to the customer with code "{code}" and the customer name is not changed.'
)
CONTACT_ID_REQUIRED = "The contact's identifier code is required."
CONTACT_ID_REPEATED = (
    'The identifier code "{value}" is used more than once ({rows}); keep one row per contact.'
)
CONTACT_OF_ANOTHER_CUSTOMER = (
    'The identifier code "{value}" belongs to a contact of another customer (code "{code}"); '
    "a contact cannot be moved to another customer."
)
EMAIL_USED_EARLIER = "Another contact of this customer already uses this email address ({row_label} {row})."
OCCUPATION_INVALID = '"{value}" is not an occupation; use one of {allowed}, or leave it blank.'
MAIN_CONTACT_INVALID = (
    '"{value}" is not a main contact value; write 1, yes, true, oui or x for the main contact, '
    "and 0, no, false, non or nothing otherwise."
)
MAIN_CONTACT_LAST_WINS = (
    'Several contacts are made main contact of customer "{code}" ({rows}); the last one, '
    "{row_label} {row}, is kept as the main contact."
)
NUL_IN_VALUE = "This value holds a NUL character, which cannot be stored; remove it."
MAIN_CONTACT_DEMOTED = (
    'The contact "{contact}" ({email}) stops being the main contact of customer "{code}": {row_label} '
    "{row} makes another contact main."
)
TOO_LONG = "This value is too long ({length} characters); at most {limit} are allowed."
INVALID_ROWS = "{count} row(s) are invalid; fix them or skip the invalid rows."

MAX_LENGTHS = {name: Contact._meta.get_field(name).max_length for name in CONTACT_FIELDS if name != "is_main"}
# A file of one region's numbers uses the same metadata patterns 100,000 times: keep them compiled
# rather than rely on the re module's small cache (about 10% of a phone number's parsing).
phonenumbers.enable_pattern_cache()

# Above this many lookup values, reading the whole organization is cheaper (and stays within every
# database's limit on query parameters) than a giant IN list.
IN_LOOKUP_LIMIT = 900
ROW_LIST_LIMIT = 10
# Phones repeated in a file (a switchboard for a whole customer) are read once; a cache of every phone
# of a 100,000-row file would cost more memory than the 2 µs a common one takes to read again.
PHONE_CACHE_SIZE = 10_000


@dataclass
class Problem:
    row: int | None  # spreadsheet row number (file) or item index (API); None = file-level
    field: str | None  # one of columns.FIELDS, or None
    message: str  # a sentence without row/column prefix


@dataclass
class RowInput:
    row: int
    values: dict[str, object]  # field -> raw value; a missing key means the column is absent
    # True when every value is already a trimmed str (a file's cells): the rules then read `values`
    # as they are instead of a trimmed copy (100,000 dicts fewer in memory).
    trimmed: bool = False


@dataclass
class RowOutcome:
    row: int
    status: str  # "new" | "updated" | "unchanged" | "invalid"
    values: dict[str, object]  # the contact's values after the import (CONTACT_FIELDS)
    previous: dict[str, object] | None  # "updated": stored values of the changed fields
    contact_id: int | None
    customer_id: int | None
    errors: list[Problem] = field(default_factory=list)


@dataclass
class Plan:
    organization: Organization
    outcomes: list[RowOutcome]
    warnings: list[Problem]
    # Stored main contacts that lose it to another contact and are not updated by a valid row.
    demotions: list[dict] = field(default_factory=list)

    @property
    def totals(self) -> dict:
        totals = {"rows": len(self.outcomes), "new": 0, "updated": 0, "unchanged": 0, "invalid": 0}
        for outcome in self.outcomes:
            totals[outcome.status] += 1
        return totals

    @property
    def errors(self) -> list[Problem]:
        return [problem for outcome in self.outcomes for problem in outcome.errors]


@functools.lru_cache(maxsize=65536)
def comparable_name(value: str) -> str:
    """A customer name without case, accents or spaces: the form two names are compared in."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace()).casefold()


def row_list(rows: list[int], row_label: str) -> str:
    """`rows 3, 5 and 9`, shortened past ROW_LIST_LIMIT."""
    shown = [str(row) for row in rows[:ROW_LIST_LIMIT]]
    more = len(rows) - len(shown)
    if more:
        return f"{row_label}s {', '.join(shown)} and {more} more"
    if len(shown) == 1:
        return f"{row_label} {shown[0]}"
    return f"{row_label}s {', '.join(shown[:-1])} and {shown[-1]}"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip()


def parse_main_contact(value: object) -> bool | None:
    """True, False, or None for a blank value; raises ValueError for anything else."""
    if value is None or isinstance(value, bool):
        return value
    text = _text(value).lower()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(text)


def _fetch_customers(organization: Organization, codes: set[str]) -> dict[str, tuple[int, str]]:
    customers = Customer.objects.filter(organization=organization)
    if len(codes) <= IN_LOOKUP_LIMIT:
        customers = customers.filter(external_id__in=codes)
    return {
        code: (pk, name)
        for pk, code, name in customers.values_list("id", "external_id", "name").iterator(chunk_size=5000)
        if code in codes
    }


def _fetch_contacts(
    organization: Organization, external_ids: Collection[str], customer_ids: set[int]
) -> list[StoredContact]:
    """The organization's contacts named in the file, or of a customer named in the file."""
    contacts = Contact.objects.filter(organization=organization)
    if len(external_ids) + len(customer_ids) <= IN_LOOKUP_LIMIT:
        contacts = contacts.filter(Q(external_id__in=external_ids) | Q(customer_id__in=customer_ids))
    return [
        StoredContact(*values)
        for values in contacts.values_list(*StoredContact.__slots__).iterator(chunk_size=5000)
        if values[2] in external_ids or values[1] in customer_ids
    ]


class StoredContact:
    """A stored contact's columns, read as `contact["email"]`: a third of a dict's memory (100,000 of
    them are read when a file updates 100,000 contacts)."""

    __slots__ = (*STORED_FIELDS, "customer__external_id")

    def __init__(self, *values) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    def __getitem__(self, name: str):
        return getattr(self, name)


def plan_rows(*, organization: Organization, rows: list[RowInput], row_label: str = "row") -> Plan:
    """Check every row against the rules and the stored data; writes nothing.

    Raises ValidationError (CONTACTS_SYNCED) while the organization's contacts are synced.
    `row_label` names a row in messages: "row" for files, "item" for the API.
    """
    ensure_contacts_managed(organization)
    region = organization.default_phone_region

    texts: list[dict[str, str]] = [
        row.values
        if row.trimmed
        else {
            key: value.strip() if value.__class__ is str else _text(value)
            for key, value in row.values.items()
        }
        for row in rows
    ]
    # A NUL can name nothing stored (and PostgreSQL refuses it even in a query): left out of lookups.
    codes = {code for t in texts if (code := t.get("customer_external_id")) and "\x00" not in code}
    customers = _fetch_customers(organization, codes)
    # An identifier's first row, and every row of the identifiers given more than once.
    first_rows: dict[str, int] = {}
    repeated_rows: dict[str, list[int]] = {}
    for row, t in zip(rows, texts, strict=True):
        external_id = t.get("external_id")
        if external_id:
            first = first_rows.setdefault(external_id, row.row)
            if first != row.row:
                repeated_rows.setdefault(external_id, [first]).append(row.row)
    customer_ids = {pk for pk, _name in customers.values()}
    named = {code for code in first_rows if "\x00" not in code}
    stored_contacts = _fetch_contacts(organization, named, customer_ids)

    by_external_id = {c["external_id"]: c for c in stored_contacts}
    # customer id -> lower-cased email -> contact id, to find a clash without the contact itself.
    stored_emails: dict[int, dict[str, int]] = defaultdict(dict)
    stored_mains: dict[int, StoredContact] = {}
    for contact in stored_contacts:
        stored_emails[contact["customer_id"]][contact["email"].lower()] = contact["id"]
        if contact["is_main"]:
            stored_mains[contact["customer_id"]] = contact
    code_of_customer = {pk: code for code, (pk, _name) in customers.items()}

    outcomes: list[RowOutcome] = []
    warnings: list[Problem] = []
    name_mismatches: dict[tuple[str, str], list[int]] = defaultdict(list)
    file_emails: dict[tuple[int, str], int] = {}
    phone_cache: dict[str, str | ValidationError] = {}
    main_claims: list[int] = []  # indexes of the outcomes whose row says "main contact"

    for row, t in zip(rows, texts, strict=True):
        errors: list[Problem] = []

        def error(field_name: str, message: str, errors=errors, row=row) -> None:
            errors.append(Problem(row=row.row, field=field_name, message=message))

        customer_id = None
        code = t.get("customer_external_id", "")
        if not code:
            error("customer_external_id", CUSTOMER_ID_REQUIRED)
        elif code not in customers:
            error(
                "customer_external_id",
                CUSTOMER_UNKNOWN.format(organization=organization.name, value=shown(code)),
            )
        else:
            customer_id, stored_name = customers[code]
        if "customer_name" in t:
            name = t["customer_name"]
            if not name:
                error("customer_name", CUSTOMER_NAME_REQUIRED)
            elif customer_id is not None and comparable_name(name) != comparable_name(stored_name):
                name_mismatches[(code, name)].append(row.row)

        external_id = t.get("external_id", "")
        stored = None
        if not external_id:
            error("external_id", CONTACT_ID_REQUIRED)
        elif len(external_id) > MAX_LENGTHS["external_id"]:
            error("external_id", TOO_LONG.format(length=len(external_id), limit=MAX_LENGTHS["external_id"]))
        elif unprintable := identifier_problem(external_id):
            error("external_id", unprintable)
        else:
            if external_id in repeated_rows:
                repeated = row_list(repeated_rows[external_id], row_label)
                error("external_id", CONTACT_ID_REPEATED.format(value=shown(external_id), rows=repeated))
            stored = by_external_id.get(external_id)
            if stored is not None and customer_id is not None and stored["customer_id"] != customer_id:
                other_code = stored["customer__external_id"]
                error(
                    "external_id",
                    CONTACT_OF_ANOTHER_CUSTOMER.format(value=shown(external_id), code=shown(other_code)),
                )
                stored = None

        if stored is not None:
            values: dict[str, object] = {name: stored[name] for name in CONTACT_FIELDS}
        else:
            values = {**BLANK_CONTACT, "external_id": external_id}

        if "email" in t or stored is None:
            try:
                email = normalize_email(t.get("email", ""))
            except ValidationError as invalid:
                error("email", invalid.messages[0])
            else:
                values["email"] = email
                if customer_id is not None:
                    owner = stored_emails[customer_id].get(email)
                    if owner is not None and (stored is None or owner != stored["id"]):
                        error("email", EMAIL_TAKEN)
                    earlier = file_emails.setdefault((customer_id, email), row.row)
                    if earlier != row.row:
                        error("email", EMAIL_USED_EARLIER.format(row_label=row_label, row=earlier))

        for name_field in ("first_name", "last_name"):
            if name_field in t:
                text = t[name_field]
                if len(text) > MAX_LENGTHS[name_field]:
                    error(name_field, TOO_LONG.format(length=len(text), limit=MAX_LENGTHS[name_field]))
                elif "\x00" in text:
                    error(name_field, NUL_IN_VALUE)
                else:
                    values[name_field] = text

        if "phone" in t:
            raw = t["phone"]
            phone = phone_cache.get(raw)
            if phone is None:
                try:
                    phone = normalize_phone(raw, region)
                except ValidationError as invalid:
                    phone = invalid
                if len(phone_cache) < PHONE_CACHE_SIZE:
                    phone_cache[raw] = phone
            if isinstance(phone, ValidationError):
                error("phone", phone.messages[0])
            else:
                values["phone"] = phone

        if "occupation" in t:
            occupation = t["occupation"].upper()
            if occupation and occupation not in OCCUPATIONS:
                allowed = ", ".join(OCCUPATIONS)
                error("occupation", OCCUPATION_INVALID.format(value=shown(t["occupation"]), allowed=allowed))
            else:
                values["occupation"] = occupation

        claims_main = False
        if "is_main" in row.values:
            try:
                is_main = parse_main_contact(row.values["is_main"])
            except ValueError:
                error("is_main", MAIN_CONTACT_INVALID.format(value=shown(t["is_main"])))
            else:
                if is_main is not None:
                    values["is_main"] = claims_main = is_main

        if claims_main:
            main_claims.append(len(outcomes))
        outcomes.append(
            RowOutcome(
                row=row.row,
                status="invalid" if errors else "",
                values=values,
                previous=None,
                contact_id=stored["id"] if stored else None,
                customer_id=customer_id,
                errors=errors,
            )
        )

    for (code, name), mismatch_rows in name_mismatches.items():
        stored_name = customers[code][1]
        message = CUSTOMER_NAME_DIFFERS.format(
            value=shown(name),
            stored=shown(stored_name),
            rows=row_list(mismatch_rows, row_label),
            code=shown(code),
        )
        warnings.append(Problem(row=mismatch_rows[0], field="customer_name", message=message))

    claimants = [outcomes[index] for index in main_claims]
    demotions = _settle_main_contacts(
        outcomes, claimants, stored_mains, code_of_customer, warnings, row_label
    )

    stored_by_id = {contact["id"]: contact for contact in stored_contacts}
    for outcome in outcomes:
        if outcome.status == "invalid":
            continue
        if outcome.contact_id is None:
            outcome.status = "new"
            continue
        stored = stored_by_id[outcome.contact_id]
        previous = {name: stored[name] for name in CONTACT_FIELDS if outcome.values[name] != stored[name]}
        if previous:
            outcome.status, outcome.previous = "updated", previous
        else:
            outcome.status = "unchanged"
    warnings.sort(key=lambda problem: problem.row or 0)
    return Plan(
        organization=organization,
        outcomes=outcomes,
        warnings=warnings,
        demotions=demotions,
    )


def _settle_main_contacts(
    outcomes: list[RowOutcome],
    main_claims: list[RowOutcome],
    stored_mains: dict[int, StoredContact],
    code_of_customer: dict[int, str],
    warnings: list[Problem],
    row_label: str,
) -> list[dict]:
    """The last valid row saying "main contact" wins and demotes the stored main; returns demotions."""
    claims: dict[int, list[RowOutcome]] = defaultdict(list)
    for outcome in main_claims:
        if outcome.status != "invalid":
            claims[outcome.customer_id].append(outcome)
    valid_by_contact = {
        o.contact_id: o for o in outcomes if o.contact_id is not None and o.status != "invalid"
    }
    demotions = []
    for customer_id, claimants in claims.items():
        winner = claimants[-1]
        if len(claimants) > 1:
            for loser in claimants[:-1]:
                loser.values["is_main"] = False
            message = MAIN_CONTACT_LAST_WINS.format(
                code=code_of_customer[customer_id],
                rows=row_list([o.row for o in claimants], row_label),
                row_label=row_label,
                row=winner.row,
            )
            warnings.append(Problem(row=winner.row, field="is_main", message=message))
        current = stored_mains.get(customer_id)
        if current is None or current["id"] == winner.contact_id:
            continue
        in_file = valid_by_contact.get(current["id"])
        if in_file is not None:
            in_file.values["is_main"] = False
        else:
            demotions.append({name: current[name] for name in STORED_FIELDS})
            message = MAIN_CONTACT_DEMOTED.format(
                contact=shown(current["external_id"]),
                email=current["email"],
                code=shown(code_of_customer[customer_id]),
                row_label=row_label,
                row=winner.row,
            )
            warnings.append(Problem(row=winner.row, field="is_main", message=message))
    return demotions


def apply_plan(
    *, plan: Plan, source: str, skip_invalid: bool = False, batch_size: int = 1000
) -> list[Written]:
    """Write the plan's new and updated rows in one transaction; returns what it wrote.

    `previous` is None for a created contact. Demoted main contacts that no row updates are
    returned too, with previous {"is_main": True}. Raises ValidationError when the plan has invalid rows
    (unless `skip_invalid`) or when the database refuses a write made concurrently.
    """
    invalid = sum(1 for outcome in plan.outcomes if outcome.status == "invalid")
    if invalid and not skip_invalid:
        raise ValidationError(INVALID_ROWS.format(count=invalid), code="invalid_rows")
    organization = plan.organization
    now = timezone.now()
    new = [o for o in plan.outcomes if o.status == "new"]
    updated = [o for o in plan.outcomes if o.status == "updated"]
    # Customers whose stored main contact loses it to a new or promoted one.
    gaining_main = {d["customer_id"] for d in plan.demotions}
    gaining_main.update(o.customer_id for o in new if o.values["is_main"])
    gaining_main.update(o.customer_id for o in updated if o.previous.get("is_main") is False)

    try:
        with transaction.atomic():
            # Imports and bulk API calls of one organization write one after the other.
            ensure_contacts_managed(lock_organization(organization.pk))
            # Demote first: the partial unique index refuses two mains even for an instant.
            customer_ids = sorted(gaining_main)
            for start in range(0, len(customer_ids), batch_size):
                Contact.objects.filter(
                    customer_id__in=customer_ids[start : start + batch_size], is_main=True
                ).update(is_main=False, updated_at=now)
            results: list[Written] = []

            changed = sorted({name for o in updated for name in o.previous}, key=CONTACT_FIELDS.index)
            columns = [*changed, "source", "updated_at"]
            update_rows(
                Contact,
                columns,
                [(*(o.values[name] for name in changed), source, now, o.contact_id) for o in updated],
                batch_size=batch_size,
            )
            results.extend(Written(o.contact_id, o.values["external_id"], o.previous) for o in updated)

            columns = [
                "organization_id",
                "customer_id",
                *CONTACT_FIELDS,
                "source",
                "created_at",
                "updated_at",
            ]
            rows = [
                (
                    organization.pk,
                    o.customer_id,
                    *(o.values[name] for name in CONTACT_FIELDS),
                    source,
                    now,
                    now,
                )
                for o in new
            ]
            ids = insert_rows(Contact, columns, rows, batch_size=batch_size)
            results.extend(Written(pk, o.values["external_id"], None) for o, pk in zip(new, ids, strict=True))

            results.extend(Written(d["id"], d["external_id"], {"is_main": True}) for d in plan.demotions)
    except IntegrityError as error:
        raise integrity_validation_error(error) from error
    return results


class Written(NamedTuple):
    """A contact apply_plan wrote, and the values it replaced (None: it created the contact)."""

    pk: int
    external_id: str
    previous: dict | None


# Writing in bulk. Django's bulk_create and bulk_update build the same statements but prepare every
# value through its field in Python (bulk_create: 30 µs a row; bulk_update's CASE WHEN per row is
# quadratic on SQLite); these take values already clean and convert only the columns that need it.


def _preparers(model, names: list[str]) -> list:
    """Per column: None (the driver takes the value as it is) or a function giving the database value."""
    preparers = []
    for name in names:
        field = model._meta.get_field(name)  # also finds `customer_id`
        internal = field.get_internal_type()
        if internal in ("DateTimeField", "JSONField", "DateField", "DecimalField"):
            preparers.append(functools.partial(field.get_db_prep_save, connection=connection))
        else:
            preparers.append(None)
    return preparers


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _prepared(rows: list[tuple], preparers: list) -> list:
    """Flat parameters; a datetime shared by every row (the import's `now`) is converted once."""
    converted: dict = {}
    params = []
    for row in rows:
        for prepare, value in zip(preparers, row, strict=False):
            if prepare is None:
                params.append(value)
            elif isinstance(value, datetime.datetime):
                if value not in converted:
                    converted[value] = prepare(value)
                params.append(converted[value])
            else:
                params.append(prepare(value))
    return params


def insert_rows(
    model, names: list[str], rows: list[tuple], *, batch_size: int = 1000, returning: bool = True
):
    """Multi-row INSERTs of `rows` (values in `names` order), batch by batch; returns the new ids in order."""
    if not rows:
        return []
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        objs = [model(**dict(zip(names, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs, batch_size=batch_size)
        return [obj.pk for obj in objs]
    quote = connection.ops.quote_name
    preparers = _preparers(model, names)
    max_params = connection.features.max_query_params
    per_statement = min(batch_size, max_params // len(names)) if max_params else batch_size
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(_column(model, n) for n in names)}) VALUES "
    )
    tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    one_row = "(" + ", ".join(["%s"] * len(names)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(head + ", ".join([one_row] * len(chunk)) + tail, _prepared(chunk, preparers))
            if returning:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids


def update_rows(model, names: list[str], rows: list[tuple], *, batch_size: int = 1000) -> None:
    """UPDATE each row by primary key (its last value), one executemany per batch."""
    if not rows:
        return
    quote = connection.ops.quote_name
    preparers = [*_preparers(model, names), None]
    assignments = ", ".join(f"{_column(model, name)} = %s" for name in names)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    width = len(names) + 1
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            params = _prepared(rows[start : start + batch_size], preparers)
            cursor.executemany(sql, [params[i : i + width] for i in range(0, len(params), width)])
