"""Benchmark of the contact import: our bulk pipeline against a plain django-import-export ModelResource.

    .venv/bin/python bench/import_bench.py              # 100,000 rows
    .venv/bin/python bench/import_bench.py --rows 20000 --baseline-rows 5000

It creates a fresh SQLite database in a temporary directory (migrated here, never your own database),
one organization with N/5 customers, and a CSV and an XLSX file of N contact rows. Each measurement
runs in a fresh Python process (so the peak memory is that step's alone): a dry run (preview) and a
commit on an empty contact table, for CSV and XLSX; a second commit updating every contact; and the
baseline's dry run and commit of the CSV. It reports seconds, rows/second, database queries and the
process's peak resident memory (ru_maxrss, which includes Python and Django themselves).
"""

import argparse
import contextlib
import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project, for contacts.fields here and for Django and bench.baseline once set up.
sys.path.insert(0, str(ROOT))

from contacts.fields import ENGLISH_HEADERS  # noqa: E402 (needs the path above)

OCCUPATIONS = ["ACCOUNTING", "sales", "Purchaser", "PAYER", ""]
# The import template's headers; contact_rows() fills the columns in this order.
HEADERS = list(ENGLISH_HEADERS.values())


def setup_django(workdir: Path, database_url: str = "") -> None:
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["DJANGO_ENV_FILE"] = ""
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
    os.environ["CONTACT_IMPORTS_PER_MONTH"] = "1000000"
    os.environ["CONTACT_IMPORT_MAX_ROWS"] = "10000000"
    os.environ["CONTACT_IMPORT_MAX_BYTES"] = str(1024**3)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contacts_site.settings")
    import django

    django.setup()


def french_mobile(n: int) -> str:
    pairs = [(n // 1000000) % 100, (n // 10000) % 100, (n // 100) % 100, n % 100]
    return "06 " + " ".join(f"{pair:02d}" for pair in pairs)


def contact_rows(count: int, *, version: int = 0) -> list[list[str]]:
    customers = max(1, count // 5)
    rows = []
    for n in range(count):
        c = n % customers
        rows.append(
            [
                f"Customer {c}",
                f"CUST-{c:06d}",
                f"CT-{n:07d}",
                f"Person.{n}.v{version}@Client{c}.example",
                f"First{n}",
                f"Last{n}" if not version else f"Last{n}-{version}",
                french_mobile(n),
                OCCUPATIONS[n % len(OCCUPATIONS)],
                "1" if n < customers else "",
            ]
        )
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")
    sheet.append(HEADERS)
    for row in rows:
        # Phones as numbers, as Excel stores them when typed without spaces.
        sheet.append([*row[:6], int("33" + row[6].replace(" ", "")[1:]), *row[7:]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def prepare(workdir: Path, rows: int, database_url: str) -> dict:
    """The database, the organization, its customers and the files; returns what the steps need."""
    setup_django(workdir, database_url)
    from django.core.management import call_command
    from django.utils import timezone

    from customers.models import Customer, Organization

    call_command("migrate", verbosity=0)
    organization = Organization.objects.create(
        name="Bench", slug="bench", contacts_source="managed", contacts_disconnected_at=timezone.now()
    )
    Customer.objects.bulk_create(
        [
            Customer(organization=organization, name=f"Customer {c}", external_id=f"CUST-{c:06d}")
            for c in range(rows // 5)
        ],
        batch_size=1000,
    )
    data = contact_rows(rows)
    files = {
        "csv": workdir / "contacts.csv",
        "xlsx": workdir / "contacts.xlsx",
        "csv-update": workdir / "contacts-update.csv",
    }
    files["csv"].write_bytes(csv_bytes(data))
    files["xlsx"].write_bytes(xlsx_bytes(data))
    files["csv-update"].write_bytes(csv_bytes(contact_rows(rows, version=1)))
    return {"organization": organization.pk, "files": {k: str(v) for k, v in files.items()}}


def empty_contacts() -> None:
    from django.db import connection

    from bench.floors import change_model, drop_floor_tables

    drop_floor_tables()
    with connection.cursor() as cursor:
        for table in (
            change_model()._meta.db_table,
            "contacts_changesequence",
            "contacts_importbatch",
            "contacts_contact",
        ):
            cursor.execute(f"DELETE FROM {table}")


def backend_cpu_seconds() -> float:
    """CPU time of this process's PostgreSQL backend so far (0 on SQLite: it runs in this process)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another machine: its CPU is not ours to read
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_step(workdir: Path, step: str, organization_id: int, path: str, rows: int, database_url: str) -> dict:
    """One measurement, in this (fresh) process."""
    setup_django(workdir, database_url)
    from django.db import connection

    from customers.models import Organization

    organization = Organization.objects.get(pk=organization_id)
    if step != "update":
        empty_contacts()
    data = Path(path).read_bytes()
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    action = step_action(step, organization, data, path, rows)
    backend_before = backend_cpu_seconds()
    with connection.execute_wrapper(count):
        started, cpu = time.perf_counter(), time.process_time()
        outcome = action()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    backend = backend_cpu_seconds() - backend_before
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "step": step,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "backend_cpu_seconds": backend,
        "queries": queries[0],
        "peak_mb": peak_mb,
        "outcome": outcome,
    }


def step_action(step: str, organization, data: bytes, path: str, rows: int):
    from bench.floors import copy_floor, orm_floor
    from contacts.importing.pipeline import commit_import, preview_import

    name = Path(path).name
    if step == "floor-orm":
        return orm_floor(organization, path)
    if step == "floor-copy":
        return copy_floor(organization, path)

    if step in ("preview", "xlsx-preview"):
        return lambda: preview_import(organization=organization, data=data, filename=name).totals
    if step in ("commit", "update", "xlsx-commit"):
        return lambda: commit_import(organization=organization, data=data, filename=name).totals

    import tablib

    from bench.baseline import BaselineContactResource

    def baseline():
        text = data.decode("utf-8")
        if rows:  # the baseline may run on the first rows only
            text = "".join(text.splitlines(keepends=True)[: rows + 1])
        dataset = tablib.Dataset().load(text, format="csv")
        result = BaselineContactResource(organization=organization).import_data(
            dataset, dry_run=step == "baseline-preview", use_transactions=True
        )
        return {key: value for key, value in result.totals.items() if value} | {
            "errors": len(result.row_errors())
        }

    return baseline


def measure(workdir: Path, step: str, organization_id: int, path: str, rows: int, database_url: str) -> dict:
    if step == "update":
        # The contacts the update changes, committed first in a process of its own (not timed, and not in
        # the update's peak memory): each run (--repeat) starts from the same state, whatever ran before.
        measure(workdir, "commit", organization_id, str(workdir / "contacts.csv"), 0, database_url)
    command = [sys.executable, __file__, "--step", step, "--workdir", str(workdir)]
    command += ["--organization", str(organization_id), "--file", path, "--rows", str(rows)]
    command += ["--database-url", database_url]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode:
        sys.exit(f"{step} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


STEPS = {
    # name: (format, file, rows: "all" or "baseline")
    "preview": ("CSV", "csv", "all"),
    "commit": ("CSV", "csv", "all"),
    "update": ("CSV", "csv-update", "all"),
    "xlsx-preview": ("XLSX", "xlsx", "all"),
    "xlsx-commit": ("XLSX", "xlsx", "all"),
    "floor-orm": ("CSV", "csv", "all"),
    "floor-copy": ("CSV", "csv", "all"),
    "baseline-preview": ("CSV", "csv", "baseline"),
    "baseline-commit": ("CSV", "csv", "baseline"),
}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=100_000, help="contact rows in the files (default 100,000)"
    )
    parser.add_argument(
        "--baseline-rows", type=int, default=None, help="rows the slow baseline imports (default: --rows)"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="postgres://USER@HOST:PORT/DB: run on a fresh database created (and dropped) on that server; "
        "default: a fresh SQLite file",
    )
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, among {', '.join(STEPS)}")
    parser.add_argument("--repeat", type=int, default=1, help="run each step N times and keep the fastest")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    # Internal: one measurement in a child process.
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--organization", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    return parser.parse_args()


@contextlib.contextmanager
def fresh_database(url: str):
    """The URL of a new, empty database on `url`'s server (dropped afterwards), or "" for SQLite."""
    if not url:
        yield ""
        return
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = f"import_bench_{os.getpid()}"
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    args = arguments()
    if args.step:
        result = run_step(
            Path(args.workdir), args.step, args.organization, args.file, args.rows, args.database_url
        )
        print(json.dumps(result))
        return
    rows = args.rows
    baseline_rows = min(args.baseline_rows or rows, rows)
    steps = [step.strip() for step in args.steps.split(",") if step.strip()]
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp, fresh_database(args.database_url) as url:
        workdir = Path(tmp)
        where = "PostgreSQL" if url else "SQLite"
        print(
            f"Preparing a fresh {where} database with {rows:,} rows and {rows // 5:,} customers…",
            file=sys.stderr,
        )
        prepared = prepare(workdir, rows, url)
        org, files = prepared["organization"], prepared["files"]
        results = []
        for step in steps:
            if step == "floor-copy" and not url:
                continue
            fmt, file, size = STEPS[step]
            count = baseline_rows if size == "baseline" else rows
            runs = []
            for attempt in range(args.repeat):
                print(f"  {step} ({attempt + 1}/{args.repeat})…", file=sys.stderr)
                runs.append(measure(workdir, step, org, files[file], count if size == "baseline" else 0, url))
            result = min(runs, key=lambda run: run["seconds"])
            result.update(format=fmt, rows=count, rows_per_second=count / result["seconds"], database=where)
            results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_table(results)


def print_table(results: list[dict]) -> None:
    """The measurements, one line a step, then the ratios the targets are stated in."""
    columns = (
        ("rows", 9),
        ("seconds", 9),
        ("CPU s", 8),
        ("DB CPU s", 9),
        ("rows/s", 9),
        ("queries", 9),
        ("peak MB", 9),
    )
    print("\n" + f"{'step':<20}" + "".join(f"{name:>{width}}" for name, width in columns))
    for r in results:
        print(
            f"{r['step']:<20}{r['rows']:>9,}{r['seconds']:>9.2f}{r['cpu_seconds']:>8.2f}"
            f"{r['backend_cpu_seconds']:>9.2f}{r['rows_per_second']:>9,.0f}{r['queries']:>9,}{r['peak_mb']:>9.0f}"
        )
    by_step = {r["step"]: r for r in results}
    if "commit" in by_step and "preview" in by_step:
        writing = by_step["commit"]["seconds"] - by_step["preview"]["seconds"]
        line = f"Writing cost (commit - preview): {writing:.2f} s"
        if "floor-copy" in by_step:
            line += f" = {writing / by_step['floor-copy']['seconds']:.2f} x the COPY write floor"
        print(line)
    if "update" in by_step and "commit" in by_step:
        print(f"Update / create: {by_step['update']['seconds'] / by_step['commit']['seconds']:.2f}")
    for kind in ("preview", "commit"):
        ours, base = by_step.get(kind), by_step.get(f"baseline-{kind}")
        if ours and base:
            speedup = ours["rows_per_second"] / base["rows_per_second"]
            print(
                f"CSV {kind}: {speedup:.1f}x the baseline's rows/second (baseline on {base['rows']:,} rows)"
            )
    print("Outcomes:", {r["step"]: r["outcome"] for r in results})


if __name__ == "__main__":
    main()
