"""What many rows would do to the stored contacts: the checks of the spreadsheet import and the bulk API.

`plan_rows` resolves every lookup up front (one query for the customers, one for the contacts), checks
each row field by field in memory (`checks`, where each field's check has its messages beside it) and
says what it would do; it writes nothing and takes no lock (the bulk service takes them before calling
it). Rows arrive as `RowInput` values: nothing here knows about files or JSON.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Q
from django.utils.translation import ngettext_lazy

from contacts import db_bulk
from contacts.fields import CONTACT_FIELDS
from contacts.models import Contact
from contacts.services.checks import RowChecks, repeated_identifiers
from contacts.services.main_contacts import settle_main_contacts
from contacts.services.rows import (
    Plan,
    Problem,
    RowInput,
    RowOutcome,
    RowPolicy,
    StoredContact,
    comparable_code,
    row_list,
)
from contacts.services.values import cell_text
from customers.models import Customer, Organization

# Above this many lookup values, reading the whole organization is cheaper (and stays within every
# database's limit on query parameters) than a giant IN list.
IN_LOOKUP_LIMIT = db_bulk.IDS_PER_STATEMENT


def row_texts(rows: list[RowInput]) -> list[dict[str, str]]:
    """Each row's values as trimmed texts (a file's rows are already)."""
    return [
        row.values
        if row.trimmed
        else {
            key: value.strip() if value.__class__ is str else cell_text(value)
            for key, value in row.values.items()
        }
        for row in rows
    ]


# --- Reading what the rows name: one query each ---------------------------------------------------


def read_customers(organization: Organization, texts: list[dict[str, str]]) -> dict[str, tuple[int, str]]:
    """The organization's customers the rows name: code -> (id, name)."""
    # A NUL can name nothing stored (and PostgreSQL refuses it even in a query): left out of lookups.
    codes = {code for t in texts if (code := t.get("customer_external_id")) and "\x00" not in code}
    customers = Customer.objects.filter(organization=organization)
    if len(codes) <= IN_LOOKUP_LIMIT:
        customers = customers.filter(external_id__in=codes)
    return {
        code: (pk, name)
        for pk, code, name in customers.values_list("id", "external_id", "name").iterator(chunk_size=5000)
        if code in codes
    }


def read_contacts(
    organization: Organization, external_ids: Collection[str], customer_ids: set[int]
) -> list[StoredContact]:
    """The organization's contacts named by the rows, or of a customer named by the rows."""
    contacts = Contact.objects.filter(organization=organization)
    if len(external_ids) + len(customer_ids) <= IN_LOOKUP_LIMIT:
        contacts = contacts.filter(Q(external_id__in=external_ids) | Q(customer_id__in=customer_ids))
    return [
        StoredContact(*values)
        for values in contacts.values_list(*StoredContact.__slots__).iterator(chunk_size=5000)
        if values[2] in external_ids or values[1] in customer_ids
    ]


def near_customers(organization: Organization) -> dict[str, tuple[str, str] | None]:
    """The organization's customers by comparable code (`comparable_code`): (code, name), or None when
    two customers share the form. One query, made only when a row names an unknown customer."""
    near: dict[str, tuple[str, str] | None] = {}
    customers = Customer.objects.filter(organization=organization).values_list("external_id", "name")
    for code, name in customers.iterator(chunk_size=5000):
        key = comparable_code(code)
        near[key] = None if key in near else (code, name)
    return near


EXACT_DUPLICATES = ngettext_lazy(
    "An exact copy of an earlier row (every column equal) is ignored: %(rows)s.",
    "Exact copies of earlier rows (every column equal) are ignored: %(rows)s.",
    "count",
)


def drop_exact_duplicates(
    rows: list[RowInput], texts: list[dict[str, str]], repeated_rows: dict[str, list[int]], row_label: str
) -> tuple[list[RowInput], list[dict[str, str]], Problem | None]:
    """Leave out the rows equal in every column to an earlier row, with one warning listing them.

    Equal rows share their identifier code, so only the codes given more than once are compared: a file
    without repeated codes costs nothing here.
    """
    rows_of_codes = {number for numbers in repeated_rows.values() for number in numbers}
    by_row = {row.row: t for row, t in zip(rows, texts, strict=True) if row.row in rows_of_codes}
    copies: set[int] = set()
    for numbers in repeated_rows.values():
        kept: list[dict[str, str]] = []
        for number in numbers:
            if by_row[number] in kept:
                copies.add(number)
            else:
                kept.append(by_row[number])
    if not copies:
        return rows, texts, None
    pairs = [(row, t) for row, t in zip(rows, texts, strict=True) if row.row not in copies]
    message = EXACT_DUPLICATES % {"count": len(copies), "rows": row_list(sorted(copies), row_label)}
    return [row for row, _t in pairs], [t for _row, t in pairs], Problem(None, None, message)


def plan_rows(
    *,
    organization: Organization,
    rows: list[RowInput],
    row_label: str = "row",
    texts: list[dict[str, str]] | None = None,
    customers: dict[str, tuple[int, str]] | None = None,
    policy: RowPolicy | None = None,
) -> Plan:
    """Check every row against the rules and the stored data; writes nothing.

    `row_label` names a row in messages: "row" for files, "item" for the API. `texts` and `customers`
    are given when the caller already read them (the bulk service, which locks the customers between
    reading them and reading their contacts). `policy` defaults to the bulk API's (RowPolicy()).
    """
    policy = policy or RowPolicy()
    texts = row_texts(rows) if texts is None else texts
    customers = read_customers(organization, texts) if customers is None else customers
    first_rows, repeated_rows = repeated_identifiers(rows, texts)
    warnings = []
    if policy.skip_exact_duplicates and repeated_rows:
        rows, texts, copies = drop_exact_duplicates(rows, texts, repeated_rows, row_label)
        if copies is not None:
            warnings.append(copies)
            first_rows, repeated_rows = repeated_identifiers(rows, texts)
    customer_ids = {pk for pk, _name in customers.values()}
    named = {code for code in first_rows if "\x00" not in code}
    stored_contacts = read_contacts(organization, named, customer_ids)
    checks = RowChecks(
        organization,
        customers,
        stored_contacts,
        repeated_rows,
        row_label,
        policy,
        near_customers=lambda: near_customers(organization),
    )
    del stored_contacts  # the checks keep what they need; the list would hold every row until the end
    outcomes = [checks.check(row, t) for row, t in zip(rows, texts, strict=True)]
    warnings.extend(checks.name_warnings())
    warnings.extend(checks.warnings)
    demotions = settle_main_contacts(checks, outcomes, warnings)
    _set_statuses(outcomes, checks.stored_by_id)
    warnings.sort(key=lambda problem: problem.row or 0)
    return Plan(organization=organization, outcomes=outcomes, warnings=warnings, demotions=demotions)


def _set_statuses(outcomes: list[RowOutcome], stored_by_id: dict[int, StoredContact]) -> None:
    for outcome in outcomes:
        if outcome.status == "invalid":
            continue
        if outcome.contact_id is None:
            outcome.status = "new"
            continue
        stored = stored_by_id[outcome.contact_id]
        previous = {name: stored[name] for name in CONTACT_FIELDS if outcome.values[name] != stored[name]}
        if previous:
            outcome.status, outcome.previous, outcome.stored_source = "updated", previous, stored.source
        else:
            outcome.status = "unchanged"
