"""An uploaded spreadsheet kept between its preview and its confirmation.

The bytes are kept in the database (ImportUpload), which every app server and every worker reaches:
no file on one machine's disk, nothing in one process's memory. The browser only carries a key: the
upload's random token, the organization and the sha256. An upload belongs to the user who sent it
(another user's key is refused) and its sha256 is checked against the stored bytes at every load, so
what is confirmed is exactly what was previewed.

An upload is deleted as soon as its import is committed, and when abandoned: unused for
CONTACT_IMPORT_PREVIEW_HOURS (`sweep_imports`, which the worker runs). A background preview keeps its
report on the upload (compressed JSON) so the preview's pages are shown without running it again.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import re
import uuid
import zipfile
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from contacts.fields import CONTACT_FIELDS
from contacts.importing.findings import ImportReport
from contacts.importing.mapping import Mapping, MappingInvalid, mapping_from_json
from contacts.importing.reading import FileRejected
from contacts.importing.reading.detect import detect_format
from contacts.models import ImportUpload
from contacts.services.rows import Plan, Problem, RowOutcome
from customers.models import Organization

# The token is uuid4().hex; anything else did not come from us.
PREVIEW_NAME = re.compile(r"[0-9a-f]{32}")
SHA256 = re.compile(r"[0-9a-f]{64}")
# Bytes per row of a worksheet's XML (inflated) and of an .xls, on the low side: a big file is never
# taken for a small one.
SHEET_XML_BYTES_PER_ROW = 200
XLS_BYTES_PER_ROW = 40
# The rows a background preview keeps for its page, by status.
KEPT_SECTIONS = ("new", "updated")
# The kept upload's columns a page needs; the bytes and the stored report are read only when used.
LIGHT_FIELDS = ("data", "preview")


def estimated_rows(data: bytes) -> int:
    """The data rows of a file, estimated without parsing it: its lines (CSV), the inflated size its
    worksheets declare (.xlsx, .ods) or its size (.xls). 0 for a file the reader refuses outright
    (a zip bomb, a damaged archive): there is nothing for a worker to do."""
    try:
        # The reader's own checks of the container, which read no row (the one owner of that decision).
        format = detect_format(data, name="")
    except FileRejected:
        return 0
    if format in ("xlsx", "ods"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = [
                member.file_size
                for member in archive.infolist()
                if member.filename.startswith("xl/worksheets/") or member.filename == "content.xml"
            ]
        return max(sheets, default=0) // SHEET_XML_BYTES_PER_ROW
    if format == "xls":
        return len(data) // XLS_BYTES_PER_ROW
    return max(data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") - 1, 0)


def keep_upload(
    *, user, data: bytes, filename: str, organization: Organization, blank_clears: bool = False
) -> ImportUpload:
    """Store the upload for its preview, with the upload form's choice for blank cells; big files are
    marked to run in the background."""
    return ImportUpload.objects.create(
        token=uuid.uuid4().hex,
        organization=organization,
        user=user,
        file_name=_base_name(filename)[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        data=data,
        background=estimated_rows(data) > settings.CONTACT_IMPORT_BACKGROUND_ROWS,
        blank_clears=blank_clears,
    )


def upload_key(upload: ImportUpload) -> dict:
    """The key the browser carries: file (the token), organization and sha256."""
    return {"organization": upload.organization_id, "file": upload.token, "sha256": upload.sha256}


def find_upload(*, user, key: dict) -> ImportUpload | None:
    """The user's kept upload named by a key from the browser (without its bytes), or None."""
    if not PREVIEW_NAME.fullmatch(key["file"]):
        return None
    upload = (
        ImportUpload.objects.defer(*LIGHT_FIELDS)
        .select_related("organization")
        .filter(token=key["file"], user=user, organization=key["organization"], sha256=key["sha256"])
        .first()
    )
    if upload is not None:
        ImportUpload.objects.filter(pk=upload.pk).update(used_at=timezone.now())
    return upload


def upload_data(upload: ImportUpload) -> bytes | None:
    """The kept bytes, or None when they no longer match the sha256 the preview showed."""
    data = ImportUpload.objects.filter(pk=upload.pk).values_list("data", flat=True).first()
    if data is None:
        return None
    data = bytes(data)
    return data if hashlib.sha256(data).hexdigest() == upload.sha256 else None


def upload_mapping(upload: ImportUpload) -> Mapping | None:
    """The mapping chosen in the admin's mapping step for this upload (None: read it as found)."""
    if upload.mapping is None:
        return None
    try:
        return mapping_from_json(upload.mapping)
    except MappingInvalid:
        return None


def forget_upload(upload: ImportUpload) -> None:
    ImportUpload.objects.filter(pk=upload.pk).delete()


def delete_abandoned_uploads(now: datetime.datetime | None = None) -> int:
    """Delete the uploads nobody used for CONTACT_IMPORT_PREVIEW_HOURS (a running preview is in use)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(hours=settings.CONTACT_IMPORT_PREVIEW_HOURS)
    abandoned = ImportUpload.objects.filter(used_at__lt=cutoff).exclude(
        status__in=[ImportUpload.Status.QUEUED, ImportUpload.Status.RUNNING]
    )
    return abandoned.delete()[1].get(ImportUpload._meta.label, 0)


def _base_name(filename: str) -> str:
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1]


# --- A background preview's report, kept on its upload -------------------------------------------------


def pack_report(report: ImportReport) -> bytes:
    """The parts of an ImportReport the preview page shows, as compressed JSON lines: a first line with
    the totals and problems, then one line per new row and one per updated row, so that a page of a
    200,000-row preview decodes only the rows it shows."""
    outcomes = report.plan.outcomes if report.plan else []
    sections = {status: [o for o in outcomes if o.status == status] for status in KEPT_SECTIONS}
    header = {
        "format": report.format,
        "totals": report.totals,
        "labels": report.column_labels,
        "planned": report.plan is not None,
        "errors": [[p.row, p.field, p.message] for p in report.errors],
        "warnings": [[p.row, p.field, p.message] for p in report.warnings],
        "counts": {status: len(rows) for status, rows in sections.items()},
        "blank_kept": sum(1 for o in outcomes if o.kept),
        "reading": None
        if report.reading is None
        else {"summary": str(report.reading.summary), "reasons": [str(r) for r in report.reading.reasons]},
    }
    lines = [json.dumps(header, separators=(",", ":"))]
    for rows in sections.values():
        lines.extend(
            json.dumps(
                [
                    o.row,
                    o.customer_id,
                    o.contact_id,
                    [o.values[n] for n in CONTACT_FIELDS],
                    o.previous,
                    o.kept,
                ],
                separators=(",", ":"),
            )
            for o in rows
        )
    return zlib.compress("\n".join(lines).encode(), 6)


def unpack_report(upload: ImportUpload) -> ImportReport | None:
    """The ImportReport a background preview kept: its new and updated rows are decoded page by page
    (report.kept_outcomes); without the table, which the error report reads from the file."""
    packed = ImportUpload.objects.filter(pk=upload.pk).values_list("preview", flat=True).first()
    if packed is None:
        return None
    lines = zlib.decompress(bytes(packed)).decode().split("\n")
    header = json.loads(lines[0])
    report = ImportReport(
        organization=upload.organization, filename=upload.file_name, format=header["format"]
    )
    report.totals = header["totals"]
    report.column_labels = header["labels"]
    report.errors = [Problem(*problem) for problem in header["errors"]]
    report.warnings = [Problem(*problem) for problem in header["warnings"]]
    report.blank_kept = header["blank_kept"]
    if header.get("reading") is not None:
        report.reading = KeptReading(**header["reading"])
    if header["planned"]:
        report.plan = Plan(organization=upload.organization, outcomes=[], warnings=report.warnings)
        start = 1
        report.kept_outcomes = {}
        for status in KEPT_SECTIONS:
            count = header["counts"][status]
            report.kept_outcomes[status] = KeptOutcomes(lines, start, count, status)
            start += count
    return report


@dataclass
class KeptReading:
    """What the preview page shows of how a background preview read the file."""

    summary: str
    reasons: list[str]


class KeptOutcomes:
    """The new (or updated) rows of a kept preview, as a sequence the paginator slices: each row is
    decoded from its JSON line when a page shows it."""

    def __init__(self, lines: list[str], start: int, count: int, status: str) -> None:
        self.lines, self.start, self.count_, self.status = lines, start, count, status

    def __len__(self) -> int:
        return self.count_

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._outcome(i) for i in range(*index.indices(self.count_))]
        if not -self.count_ <= index < self.count_:
            raise IndexError(index)
        return self._outcome(index % self.count_)

    def _outcome(self, index: int) -> RowOutcome:
        row, customer_id, contact_id, values, previous, kept = json.loads(self.lines[self.start + index])
        return RowOutcome(
            row=row,
            status=self.status,
            values=dict(zip(CONTACT_FIELDS, values, strict=True)),
            previous=previous,
            contact_id=contact_id,
            customer_id=customer_id,
            kept=tuple(kept),
        )
