"""Peak memory of a big import's steps, as the background worker runs them (issue 12, point 6).

    .venv/bin/python bench/import_memory.py        # SQLite, 100,000 and 200,000 rows, CSV and XLSX
    .venv/bin/python bench/import_memory.py --database-url postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/import_memory.py --rows 20000 --formats csv

It makes a fresh database (a temporary SQLite file, or a new database on the given PostgreSQL server,
dropped at the end), one organization with N/5 customers and the files. Each step then runs in a fresh
Python process, so its peak is its own: the worker's preview of the kept upload (read, check, keep the
report), the preview page built from that report (what a web process does), and the worker's commit
(read, check, write, store the file). It prints the process's peak resident memory (VmHWM, Python and
Django included) and seconds. Every step has a time limit; nothing runs unbounded.

Targets (issue 12): 100,000 rows under 400 MB, 200,000 rows (the largest file allowed) under 700 MB.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STEP_TIMEOUT = 600  # seconds
STEPS = ("preview", "preview-page", "commit")


def configure(database_url: str, workdir: Path) -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_MEDIA_ROOT=str(workdir / "media"),
        DJANGO_ENV_FILE="",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY="benchmark-only-secret-key",
        CONTACT_IMPORTS_PER_MONTH="1000000",
        # These files' rows are wide (every column filled): 200,000 of them pass 20 MB.
        CONTACT_IMPORT_MAX_BYTES=str(64 * 1024 * 1024),
        DJANGO_SETTINGS_MODULE="contacts_site.settings",
    )
    import django

    django.setup()


def peak_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024


def csv_file(rows: int) -> bytes:
    lines = [
        "Customer name,External identification code,Contact's Identifier code,Contact's Email,"
        "Contact's First Name,Contact's Last Name,Contact's Telephone Number,Occupation,Main Contact"
    ]
    customers = max(1, rows // 5)
    for n in range(rows):
        c = n % customers
        phone = f"06 {(n // 1000000) % 100:02d} {(n // 10000) % 100:02d} {(n // 100) % 100:02d} {n % 100:02d}"
        lines.append(
            f"Customer {c},CUST-{c:06d},CT-{n:07d},person.{n}@client{c}.example,First{n},Last{n},{phone},"
            f"{('ACCOUNTING', 'SALES', 'PAYER', '')[n % 4]},{'1' if n < customers else ''}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def xlsx_file(data: bytes) -> bytes:
    import io

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")
    for line in data.decode().splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def prepare(rows: int, formats: list[str]) -> dict:
    """The organization, its customers and one kept upload per format; returns their ids."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from contacts.importing.uploads import keep_upload
    from customers.models import Customer, Organization

    call_command("migrate", verbosity=0)
    organization = Organization.objects.create(
        name="Bench", slug="bench", contacts_source="managed", contacts_disconnected_at=timezone.now()
    )
    Customer.objects.bulk_create(
        [
            Customer(organization=organization, name=f"Customer {c}", external_id=f"CUST-{c:06d}")
            for c in range(max(1, rows // 5))
        ],
        batch_size=5000,
    )
    user = get_user_model().objects.create(username="bench", is_superuser=True, is_staff=True)
    data = csv_file(rows)
    uploads = {"sizes": {}}
    for format in formats:
        content = data if format == "csv" else xlsx_file(data)
        name = f"contacts.{format}"
        uploads[format] = keep_upload(user=user, data=content, filename=name, organization=organization).pk
        uploads["sizes"][format] = len(content)
    return uploads


def run_step(step: str, upload_id: int) -> dict:
    """One step, in this fresh process."""
    from django.db import connection

    from contacts.importing.background import run_commit, run_preview
    from contacts.models import Contact, ImportBatch, ImportUpload
    from contacts.tasks import start_commit, start_preview

    upload = ImportUpload.objects.defer("data", "preview").get(pk=upload_id)
    if step != "preview-page":
        with connection.cursor() as cursor:  # every file creates all its contacts
            for table in (
                "contacts_contactchange",
                "contacts_changesequence",
                "contacts_importbatch",
                "contacts_contact",
            ):
                cursor.execute(f"DELETE FROM {table}")
    started = time.perf_counter()
    if step == "preview":
        start_preview(upload)
        run_preview(upload_id)
        outcome = ImportUpload.objects.get(pk=upload_id).status
    elif step == "preview-page":
        outcome = preview_page(upload)
    else:
        batch = start_commit(upload=upload, user=upload.user, skip_invalid=True, override_reason="bench")
        run_commit(batch.pk, "bench")
        batch.refresh_from_db()
        outcome = f"{batch.status}, {Contact.objects.count():,} contacts"
        ImportBatch.objects.all().delete()
    return {"step": step, "seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "outcome": outcome}


def preview_page(upload) -> str:
    """What a web process does for a page of a background preview: the kept report, one page of each."""
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from contacts.admin.imports import preview_sections
    from contacts.importing.uploads import unpack_report

    request = RequestFactory().get("/", {"new_page": "3"})
    request.user = AnonymousUser()
    report = unpack_report(upload)
    sections = preview_sections(request, report)
    return f"{len(sections['sections']['new']['rows'])} rows shown of {report.totals['new']:,} new"


def measure(args, step: str, upload_id: int) -> dict:
    command = [sys.executable, __file__, "--child", step, str(upload_id), "--workdir", args.workdir]
    command += ["--database-url", args.database_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False)
    if done.returncode:
        raise SystemExit(f"{step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def postgres_database(server_url: str) -> tuple[str, callable]:
    """A new database on the server; returns its URL and what drops it."""
    import psycopg

    name = f"contacts_memory_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return server_url.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 200_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"], choices=["csv", "xlsx"])
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (default: SQLite)")
    parser.add_argument("--json", action="store_true", help="print one JSON list of the measurements")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "UPLOAD"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        configure(args.database_url, Path(args.workdir))
        print(json.dumps(run_step(args.child[0], int(args.child[1]))))
        return

    database = "PostgreSQL" if args.database_url else "SQLite"
    measured = []
    if not args.json:
        print(f"Peak memory of a background import's steps ({database}), each in a fresh process")
        print(f"{'rows':>8} {'format':6} {'step':13} {'peak MB':>8} {'seconds':>8}  outcome")
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="contacts-memory-") as workdir:
            args.workdir = workdir
            drop = None
            if args.database_url:
                server_url = args.database_url
                args.database_url, drop = postgres_database(server_url)
            else:
                args.database_url = f"sqlite:///{workdir}/bench.sqlite3"
            try:
                setup = subprocess.run(
                    [sys.executable, "-c", PREPARE, workdir, args.database_url, str(rows), *args.formats],
                    capture_output=True,
                    text=True,
                    timeout=STEP_TIMEOUT,
                    check=True,
                    cwd=ROOT,
                )
                uploads = json.loads(setup.stdout.strip().splitlines()[-1])
                sizes = uploads.pop("sizes")
                if not args.json:
                    files = ", ".join(f"{format} {size / 2**20:.1f} MB" for format, size in sizes.items())
                    print(f"{rows:>8,} rows: {files}")
                for format, upload_id in uploads.items():
                    for step in STEPS:
                        result = measure(args, step, upload_id)
                        measured.append({"rows": rows, "format": format, **result})
                        if not args.json:
                            print(
                                f"{rows:>8,} {format:6} {step:13} {result['peak_mb']:>8.0f} "
                                f"{result['seconds']:>8.1f}  {result['outcome']}",
                                flush=True,
                            )
            finally:
                if drop:
                    drop()
                    args.database_url = server_url
                else:
                    args.database_url = ""
    if args.json:
        print(json.dumps(measured))


PREPARE = """
import json, sys
from pathlib import Path
sys.path.insert(0, ".")
from bench.import_memory import configure, prepare
configure(sys.argv[2], Path(sys.argv[1]))
print(json.dumps(prepare(int(sys.argv[3]), sys.argv[4:])))
"""

if __name__ == "__main__":
    main()
