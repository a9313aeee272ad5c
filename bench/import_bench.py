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
import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project, for contacts.fields here and for Django and bench.baseline once set up.
sys.path.insert(0, str(ROOT))

from contacts.fields import ENGLISH_HEADERS  # noqa: E402 (needs the path above)

OCCUPATIONS = ["ACCOUNTING", "sales", "Purchaser", "PAYER", ""]
# The import template's headers; contact_rows() fills the columns in this order.
HEADERS = list(ENGLISH_HEADERS.values())


def setup_django(workdir: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
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


def prepare(workdir: Path, rows: int) -> dict:
    """The database, the organization, its customers and the files; returns what the steps need."""
    setup_django(workdir)
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

    with connection.cursor() as cursor:
        for table in ("contacts_importedcontactchange", "contacts_importbatch", "contacts_contact"):
            cursor.execute(f"DELETE FROM {table}")


def run_step(workdir: Path, step: str, organization_id: int, path: str, rows: int) -> dict:
    """One measurement, in this (fresh) process."""
    setup_django(workdir)
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

    action = step_action(step, organization, data, Path(path).name, rows)
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        outcome = action()
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step": step, "seconds": seconds, "queries": queries[0], "peak_mb": peak_mb, "outcome": outcome}


def step_action(step: str, organization, data: bytes, name: str, rows: int):
    from contacts.importing.pipeline import commit_import, preview_import

    if step == "preview":
        return lambda: preview_import(organization=organization, data=data, filename=name).totals
    if step in ("commit", "update"):
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


def measure(workdir: Path, step: str, organization_id: int, path: str, rows: int = 0) -> dict:
    command = [sys.executable, __file__, "--step", step, "--workdir", str(workdir)]
    command += ["--organization", str(organization_id), "--file", path, "--rows", str(rows)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode:
        sys.exit(f"{step} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=100_000, help="contact rows in the files (default 100,000)"
    )
    parser.add_argument(
        "--baseline-rows", type=int, default=None, help="rows the slow baseline imports (default: --rows)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    # Internal: one measurement in a child process.
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--organization", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.step:
        print(json.dumps(run_step(Path(args.workdir), args.step, args.organization, args.file, args.rows)))
        return

    rows = args.rows
    baseline_rows = min(args.baseline_rows or rows, rows)
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        workdir = Path(tmp)
        print(
            f"Preparing a fresh SQLite database with {rows:,} rows and {rows // 5:,} customers…",
            file=sys.stderr,
        )
        prepared = prepare(workdir, rows)
        org, files = prepared["organization"], prepared["files"]
        plan = [
            ("CSV", "preview", files["csv"], rows),
            ("CSV", "commit", files["csv"], rows),
            ("CSV", "update", files["csv-update"], rows),
            ("XLSX", "preview", files["xlsx"], rows),
            ("XLSX", "commit", files["xlsx"], rows),
            ("CSV", "baseline-preview", files["csv"], baseline_rows),
            ("CSV", "baseline-commit", files["csv"], baseline_rows),
        ]
        results = []
        for fmt, step, path, count in plan:
            print(f"  {fmt} {step}…", file=sys.stderr)
            result = measure(workdir, step, org, path, count if step.startswith("baseline") else 0)
            result.update(format=fmt, rows=count, rows_per_second=count / result["seconds"])
            results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_table(results)


def print_table(results: list[dict]) -> None:
    """The measurements, one line a step, then the speed-up over the baseline."""
    print(f"\n{'step':<24}{'rows':>9}{'seconds':>10}{'rows/s':>10}{'queries':>9}{'peak MB':>9}")
    for r in results:
        name = f"{r['format']} {r['step']}"
        print(
            f"{name:<24}{r['rows']:>9,}{r['seconds']:>10.2f}{r['rows_per_second']:>10,.0f}"
            f"{r['queries']:>9,}{r['peak_mb']:>9.0f}"
        )
    by_step = {(r["format"], r["step"]): r for r in results}
    for kind in ("preview", "commit"):
        ours = by_step[("CSV", kind)]
        base = by_step[("CSV", f"baseline-{kind}")]
        speedup = ours["rows_per_second"] / base["rows_per_second"]
        print(f"CSV {kind}: {speedup:.1f}x the baseline's rows/second", end="")
        if base["rows"] != ours["rows"]:
            estimate = base["seconds"] * ours["rows"] / base["rows"]
            print(
                f" (baseline run on {base['rows']:,} rows; about {estimate:.0f} s for {ours['rows']:,})",
                end="",
            )
        print()
    print("Outcomes:", {f"{r['format']} {r['step']}": r["outcome"] for r in results})


if __name__ == "__main__":
    main()
