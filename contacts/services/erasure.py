"""Erase a person (`manage.py erase_contact`): delete the contact, then scrub its email, names and phone
from everything that kept them: the change log's values, the import history's error and warning lists
(of its organization), the admin's own log entries (LogEntry: the contact's, and its customer's that
quote it), the API's stored responses to idempotent requests (IdempotentRequest.body) and the kept
uploads waiting for their confirmation (ImportUpload: deleted when their file or preview may name the
person; whoever sent one uploads it again). What stays: the counts of every import, the log entries
themselves (who, when, which fields, with the values nulled) and a tombstone entry ("erased"). The
stored files of finished imports are left to the retention setting of the hardening issue.

Erasure is owed to the person whatever system the contacts come from: it runs for an organization still
synced with the invoicing system too (the sync may send the contact again; that is its owner's record).

One transaction, locked in the house order (contacts.locks) before anything is read: the organization
(an import or an undo of it waits), then the contact's customer (a single write of the contact waits),
so nobody writes the person's values back while they are scrubbed, and no value written meanwhile is
missed.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass

import phonenumbers
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contacts import db_bulk
from contacts.importing.reading.mentions import may_mention
from contacts.locks import lock_customer, lock_organization
from contacts.models import Contact, ContactChange, ImportBatch, ImportUpload
from contacts.services import changelog
from contacts.services.changelog import Action, Actor
from customers.models import Customer, IdempotentRequest, Organization

PERSONAL_FIELDS = ("email", "first_name", "last_name", "phone")
API_PERSONAL_FIELDS = ("email", "firstName", "lastName", "phone")  # the API's names of PERSONAL_FIELDS
ERASED_TEXT = "(erased)"  # what a personal value becomes inside a message or an admin log entry
ERASED_REPR = "Erased contact #%(id)s"
NOTHING_TO_ERASE = _(
    'No contact of %(organization)s has the identifier code "%(code)s", now or in the change log; '
    "nothing was erased."
)


@dataclass
class Erasure:
    """What an erasure did: the contact deleted (or not: deleted before), and how many rows it scrubbed."""

    contact_ids: list[int]
    deleted: bool
    log_entries: int
    imports: int
    admin_entries: int
    api_responses: int = 0
    uploads: int = 0


@transaction.atomic
def contact_erase(*, organization: Organization, external_id: str, actor: Actor) -> Erasure:
    """Delete the organization's contact with this identifier code (if it still exists) and scrub its
    personal data from the change log, the import history, the admin's log and the API's stored
    responses; delete the kept uploads that may name it. Raises ValidationError when neither the contact
    nor any log entry has this identifier code."""
    locked = lock_organization(organization.pk)
    contact = _locked_contact(locked, external_id)
    entries = ContactChange.objects.filter(organization=locked, external_id=external_id)
    ids = set(entries.exclude(contact_id=None).values_list("contact_id", flat=True))
    if contact is not None:
        ids.add(contact.pk)
    if not ids and not entries.exists():
        message = NOTHING_TO_ERASE % {"organization": locked.name, "code": external_id}
        raise ValidationError(message, code="not_found")
    logged = ContactChange.objects.filter(organization=locked).filter(
        Q(contact_id__in=ids) | Q(external_id=external_id)
    )
    values = _personal_values(contact, logged)
    if contact is not None:
        contact_id, customer_id = contact.pk, contact.customer_id
        contact.delete()
    else:
        contact_id, customer_id = logged.order_by("-pk").values_list("contact_id", "customer_id").first()
    erasure = Erasure(
        contact_ids=sorted(ids),
        deleted=contact is not None,
        log_entries=_scrub_log(logged),
        imports=_scrub_imports(locked, values),
        admin_entries=_scrub_admin_log(ids, customer_id, values),
        api_responses=_scrub_api_responses(locked, ids, external_id, values),
        uploads=_drop_uploads(locked, external_id, values),
    )
    tombstone = changelog.Entry(contact_id, external_id, customer_id, Action.ERASED, None, None)
    changelog.record([tombstone], organization_id=locked.pk, actor=actor)
    return erasure


def _locked_contact(organization: Organization, external_id: str) -> Contact | None:
    """The contact, read again once its customer is locked (after the organization: the house order)."""
    contacts = Contact.objects.filter(organization=organization, external_id=external_id)
    locked: set[int] = set()
    while True:
        contact = contacts.first()
        if contact is None or contact.customer_id in locked:
            return contact
        lock_customer(contact.customer_id)
        locked.add(contact.customer_id)


def _personal_values(contact: Contact | None, logged) -> set[str]:
    """What identifies the person in a text: every email and phone the contact ever had, and its full
    names ("Anne Roux"). A first or last name alone is left: texts that quote one quote a customer
    ("Cabinet Laurent") or someone else as often as this person."""
    seen: dict[str, set] = {name: set() for name in PERSONAL_FIELDS}
    stored = [{name: getattr(contact, name) for name in PERSONAL_FIELDS}] if contact is not None else []
    for before, after in logged.values_list("before", "after"):
        stored.extend(values for values in (before, after) if values)
    for values in stored:
        for name in PERSONAL_FIELDS:
            if isinstance(values.get(name), str) and values[name].strip():
                seen[name].add(values[name].strip())
    full_names = {f"{first} {last}" for first in seen["first_name"] for last in seen["last_name"]}
    return seen["email"] | seen["phone"] | full_names


def _scrub_log(logged) -> int:
    """The log entries keep their fields' names; the personal values become null."""
    rows = []
    for pk, before, after in logged.values_list("pk", "before", "after"):
        rows.append((_scrubbed_values(before), _scrubbed_values(after), pk))
    db_bulk.update_rows(ContactChange, ["before", "after"], rows, batch_size=db_bulk.IDS_PER_STATEMENT)
    return len(rows)


def _scrubbed_values(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {name: None if name in PERSONAL_FIELDS else value for name, value in values.items()}


def _patterns(values: set[str]) -> list[re.Pattern]:
    """What to look for in texts: each value (not inside a longer word, any case), and a phone also in
    the forms a file may have written it (06 12 34 56 78, +33 6 12…, 0033…)."""
    patterns = []
    for value in sorted(values, key=len, reverse=True):
        patterns.append(re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE))
        if value.startswith("+"):
            try:
                number = phonenumbers.parse(value)
            except phonenumbers.NumberParseException:
                continue
            digits = r"[\s.\-()]*".join(phonenumbers.national_significant_number(number))
            prefix = rf"(?:(?:\+|00)\s*{number.country_code}[\s.\-()]*(?:0[\s.\-()]*)?|0[\s.\-()]*)?"
            patterns.append(re.compile(rf"(?<!\d){prefix}{digits}(?!\d)"))
    return patterns


def _scrubbed(text: str, patterns: list[re.Pattern]) -> str:
    for pattern in patterns:
        text = pattern.sub(ERASED_TEXT, text)
    return text


def _scrub_imports(organization: Organization, values: set[str]) -> int:
    """The messages of the organization's imports (errors and warnings) that quote a personal value."""
    if not values:
        return 0
    patterns = _patterns(values)
    scrubbed = 0
    for batch in ImportBatch.objects.filter(organization=organization).only("pk", "errors", "warnings"):
        changed = False
        for problems in (batch.errors, batch.warnings):
            for problem in problems:
                message = problem.get("message") or ""
                clean = _scrubbed(message, patterns)
                if clean != message:
                    problem["message"], changed = clean, True
        if changed:
            batch.save(update_fields=["errors", "warnings"])
            scrubbed += 1
    return scrubbed


def _scrub_admin_log(ids: set[int], customer_id: int | None, values: set[str]) -> int:
    """The admin's LogEntry rows: the contact's own (renamed to a tombstone), and its customer's that
    quote it (the customer's page edits its contacts inline and names them by name and email)."""
    content_type = ContentType.objects.get_for_model(Contact)
    own = Q(content_type=content_type, object_id__in=[str(pk) for pk in ids])
    quoting = Q(pk__in=[])
    if customer_id is not None and values:
        mentions = Q()
        for value in values:
            mentions |= Q(change_message__icontains=value)
        customer_type = ContentType.objects.get_for_model(Customer)
        quoting = Q(content_type=customer_type, object_id=str(customer_id)) & mentions
    patterns = _patterns(values)
    own_ids = {str(pk) for pk in ids}
    count = 0
    for entry in LogEntry.objects.filter(own | quoting):
        if entry.content_type_id == content_type.pk and entry.object_id in own_ids:
            entry.object_repr = ERASED_REPR % {"id": entry.object_id}
        else:
            entry.object_repr = _scrubbed(entry.object_repr, patterns)
        entry.change_message = _scrubbed_json_text(entry.change_message, patterns)
        entry.save(update_fields=["object_repr", "change_message"])
        count += 1
    return count


def _scrubbed_json_text(text: str, patterns: list[re.Pattern]) -> str:
    """A LogEntry's change message is JSON (or plain text): scrub the strings inside, keep it valid."""
    try:
        data = json.loads(text)
    except ValueError:
        return _scrubbed(text, patterns)

    def walk(value):
        if isinstance(value, str):
            return _scrubbed(value, patterns)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        return value

    return json.dumps(walk(data))


def _scrub_api_responses(
    organization: Organization, ids: set[int], external_id: str, values: set[str]
) -> int:
    """The responses the API keeps for retried requests (its keys' IdempotentRequest.body): the person's
    contact objects lose their personal fields, and texts quoting a personal value are scrubbed."""
    patterns = _patterns(values)
    records = IdempotentRequest.objects.filter(api_key__organization=organization).exclude(body=None)
    scrubbed = {}
    for pk, body in records.values_list("pk", "body").iterator(chunk_size=500):
        clean = _scrubbed_body(body, ids, external_id, patterns)
        if clean != body:
            scrubbed[pk] = clean
    for pk, body in scrubbed.items():
        IdempotentRequest.objects.filter(pk=pk).update(body=body)
    return len(scrubbed)


def _scrubbed_body(value, ids: set[int], external_id: str, patterns: list[re.Pattern]):
    if isinstance(value, str):
        return _scrubbed(value, patterns)
    if isinstance(value, list):
        return [_scrubbed_body(item, ids, external_id, patterns) for item in value]
    if not isinstance(value, dict):
        return value
    clean = {key: _scrubbed_body(item, ids, external_id, patterns) for key, item in value.items()}
    if value.get("externalId") == external_id or value.get("id") in ids:
        clean.update({key: None for key in API_PERSONAL_FIELDS if key in clean})
    return clean


def _drop_uploads(organization: Organization, external_id: str, values: set[str]) -> int:
    """Delete the organization's kept uploads whose file or preview may name the person (its identifier
    code or a personal value): a client's file cannot be scrubbed, and is re-sent in a minute."""
    patterns = _patterns({*values, external_id})
    uploads = ImportUpload.objects.filter(organization=organization)
    dropped = []
    for pk in uploads.values_list("pk", flat=True):
        data, preview = uploads.filter(pk=pk).values_list("data", "preview").get()
        if may_mention(bytes(data), patterns) or _preview_mentions(preview, patterns):
            dropped.append(pk)
    ImportUpload.objects.filter(pk__in=dropped).delete()
    return len(dropped)


def _preview_mentions(preview: bytes | None, patterns: list[re.Pattern]) -> bool:
    """Whether a background preview's kept report (contacts.importing.uploads.pack_report) quotes a value."""
    if preview is None:
        return False
    for line in zlib.decompress(bytes(preview)).decode().split("\n"):
        text = json.dumps(json.loads(line), ensure_ascii=False)
        if any(pattern.search(text) for pattern in patterns):
            return True
    return False
