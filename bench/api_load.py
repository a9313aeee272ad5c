"""Load test of the REST API as it runs in production: gunicorn (3 workers) on PostgreSQL and Redis.

    .venv/bin/python bench/api_load.py [--clients 32] [--seconds 60] [--database contacts_api_bench]

Creates (and afterwards drops) its own PostgreSQL database, seeds 4 organizations of 50 customers and 200
contacts each, starts gunicorn on a free loopback port, and runs:
1. one client sending PUTs that change a contact (the single-write latency);
2. `--clients` clients for `--seconds` seconds, each with its organization's key, sending a realistic mix
   (reads, upserts, patches that promote main contacts, creates with Idempotency-Key, bulk calls of 20,
   deletes); every request bounded by a 30 s timeout.
It prints throughput and latency percentiles (overall and per kind), counts every status, fails when any
answer is a 5xx, and checks the database afterwards: one main contact at most per customer, emails unique
per customer, identifier codes unique per organization, each contact in its customer's organization.

Traffic goes to 127.0.0.1 only. Not part of `make test`: it takes about `--seconds` + 40 s.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid

import django
import psycopg

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# tests.helpers needs Django set up; this process itself never touches a database through it.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contacts_site.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-key-for-the-benchmark-only")
django.setup()

from tests.helpers import gunicorn_server  # noqa: E402

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/5"
ORGANIZATIONS, CUSTOMERS, CONTACTS_PER_CUSTOMER = 4, 50, 4
# The mix: kind → weight (in hundredths).
MIX = {
    "list customer contacts": 25,
    "get contact": 15,
    "list contacts by customer": 10,
    "put upsert": 20,
    "patch": 12,
    "post create": 5,
    "bulk 20": 5,
    "delete": 3,
    "list customers": 5,
}
SEED = """
import json, sys
from contacts.models import Contact
from customers.models import Customer, Organization, OrganizationAPIKey
from django.utils import timezone
keys = {}
for o in range(%(orgs)d):
    org = Organization.objects.create(
        name=f"Bench {o}", slug=f"bench-{o}", contacts_source="managed",
        contacts_disconnected_at=timezone.now())
    customers = Customer.objects.bulk_create([
        Customer(organization=org, name=f"Customer {o}-{c}", external_id=f"C{o}-{c}")
        for c in range(%(customers)d)])
    Contact.objects.bulk_create([
        Contact(organization=org, customer=cu, external_id=f"K{o}-{i}-{n}",
                email=f"p{n}.{i}.{o}@bench.example", is_main=(n == 0), source="api")
        for i, cu in enumerate(customers) for n in range(%(contacts)d)])
    keys[org.slug] = [
        OrganizationAPIKey.objects.create_key(organization=org, name=f"bench {k}")[1] for k in range(8)]
print("KEYS=" + json.dumps(keys))
"""


def _env(database: str) -> dict[str, str]:
    return {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "CACHE_URL": REDIS_URL,
        "API_THROTTLE_RATE": "1000000/min",  # the load is the subject here, not the limit
        # One connection per worker for the whole run, so that its backend's CPU time can be read.
        "DJANGO_CONN_MAX_AGE": "3600",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def prepare(database: str) -> dict[str, list[str]]:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.execute(f'CREATE DATABASE "{database}"')
    env = {**os.environ, "DJANGO_ENV_FILE": "", "DJANGO_DEBUG": "true", **_env(database)}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    code = SEED % {"orgs": ORGANIZATIONS, "customers": CUSTOMERS, "contacts": CONTACTS_PER_CUSTOMER}
    out = subprocess.run([*manage, "shell", "-c", code], env=env, check=True, cwd=ROOT, capture_output=True)
    line = next(line for line in out.stdout.decode().splitlines() if line.startswith("KEYS="))
    return json.loads(line.removeprefix("KEYS="))


class Client:
    """One simulated integrator: its organization's key and the contacts it knows about."""

    def __init__(self, address, key: str, org: int, rng: random.Random):
        self.address, self.key, self.org, self.rng = address, key, org, rng
        self.created = 0

    def send(self, method: str, path: str, body=None, headers=None) -> tuple[int, float, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"X-Api-Key": self.key, "Content-Type": "application/json", **(headers or {})}
        started = time.perf_counter()
        connection = http.client.HTTPConnection(*self.address, timeout=30)
        try:
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            content = response.read()
            return response.status, time.perf_counter() - started, content
        finally:
            connection.close()

    def customer(self) -> int:
        return self.rng.randrange(CUSTOMERS)

    def contact_path(self) -> str:
        c, n = self.customer(), self.rng.randrange(CONTACTS_PER_CUSTOMER)
        return f"/api/v1/customers/external:C{self.org}-{c}/contacts/external:K{self.org}-{c}-{n}"

    def request(self, kind: str) -> tuple[int, float, bytes]:
        rng, o = self.rng, self.org
        if kind == "list customer contacts":
            return self.send("GET", f"/api/v1/customers/external:C{o}-{self.customer()}/contacts")
        if kind == "get contact":
            return self.send("GET", self.contact_path())
        if kind == "list contacts by customer":
            return self.send("GET", f"/api/v1/contacts?customerExternalId=C{o}-{self.customer()}&limit=50")
        if kind == "list customers":
            return self.send("GET", "/api/v1/customers?limit=50")
        if kind == "put upsert":
            body = {"phone": f"06 12 34 56 {rng.randrange(10, 99)}", "isMain": rng.random() < 0.2}
            return self.send("PUT", self.contact_path(), body)
        if kind == "patch":
            body = {"firstName": f"N{rng.randrange(10**6)}"} if rng.random() < 0.6 else {"isMain": True}
            return self.send("PATCH", self.contact_path(), body)
        if kind == "post create":
            self.created += 1
            c = self.customer()
            body = {
                "externalId": f"N{o}-{uuid.uuid4().hex[:12]}",
                "email": f"{uuid.uuid4().hex[:10]}@new.example",
            }
            key = {"Idempotency-Key": str(uuid.uuid4())}
            return self.send("POST", f"/api/v1/customers/external:C{o}-{c}/contacts", body, key)
        if kind == "bulk 20":
            items = []
            for _ in range(20):
                c, n = self.customer(), rng.randrange(CONTACTS_PER_CUSTOMER + 2)
                items.append(
                    {
                        "customerExternalId": f"C{o}-{c}",
                        "externalId": f"K{o}-{c}-{n}",
                        "email": f"p{n}.{c}.{o}@bench.example",
                        "lastName": f"L{rng.randrange(1000)}",
                    }
                )
            return self.send("POST", "/api/v1/contacts/bulk", items, {"Idempotency-Key": str(uuid.uuid4())})
        if kind == "delete":
            c = self.customer()
            n = rng.randrange(CONTACTS_PER_CUSTOMER, CONTACTS_PER_CUSTOMER + 2)  # those bulk calls create
            return self.send("DELETE", f"/api/v1/customers/external:C{o}-{c}/contacts/external:K{o}-{c}-{n}")
        raise ValueError(kind)


def server_processes(port: int, database: str) -> tuple[list[int], list[int]]:
    """The gunicorn processes serving `port`, and the PostgreSQL backends of `database`."""
    pids, backends = [], []
    for entry in pathlib.Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if "gunicorn" in command and f"127.0.0.1:{port}" in command:
            pids.append(int(entry.name))
    with psycopg.connect(ADMIN_URL) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        backends = [row[0] for row in rows]
    return pids, backends


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (those that ended meanwhile count for nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000 if ordered else 0.0


def single_put(address, key: str, count: int) -> list[float]:
    client = Client(address, key, 0, random.Random(1))
    path = "/api/v1/customers/external:C0-0/contacts/external:K0-0-1"
    times = []
    for i in range(count):
        status, elapsed, _ = client.send("PUT", path, {"firstName": f"Single {i}"})
        assert status == 200, status
        times.append(elapsed)
    return times


def run_mix(address, keys: dict, clients: int, seconds: float, seed: int) -> list[tuple[str, int, float]]:
    kinds, weights = list(MIX), list(MIX.values())
    results: list[tuple[str, int, float]] = []
    samples: dict = {}
    lock = threading.Lock()
    slugs = sorted(keys)
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        org = index % len(slugs)
        rng = random.Random(seed + index)
        client = Client(address, keys[slugs[org]][index // len(slugs) % 8], org, rng)
        mine = []
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            status, elapsed, content = client.request(kind)
            mine.append((kind, status, elapsed))
            if status >= 400:
                samples.setdefault((kind, status), content[:300])
        with lock:
            results.extend(mine)

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    for (kind, status), content in sorted(samples.items()):
        print(f"  e.g. {kind} → {status}: {content.decode(errors='replace')}")
    return results


INVARIANTS = {
    "customers with two main contacts": (
        "SELECT count(*) FROM (SELECT customer_id FROM contacts_contact WHERE is_main "
        "GROUP BY customer_id HAVING count(*) > 1) t"
    ),
    "emails used twice in a customer": (
        "SELECT count(*) FROM (SELECT customer_id, lower(email) FROM contacts_contact "
        "GROUP BY 1, 2 HAVING count(*) > 1) t"
    ),
    "identifier codes used twice in an organization": (
        "SELECT count(*) FROM (SELECT organization_id, external_id FROM contacts_contact "
        "GROUP BY 1, 2 HAVING count(*) > 1) t"
    ),
    "contacts outside their customer's organization": (
        "SELECT count(*) FROM contacts_contact c JOIN customers_customer u ON u.id = c.customer_id "
        "WHERE u.organization_id <> c.organization_id"
    ),
}


def check_invariants(database: str) -> dict[str, int]:
    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{database}") as connection:
        return {name: connection.execute(sql).fetchone()[0] for name, sql in INVARIANTS.items()}


def report(results, seconds: float, single: list[float], invariants: dict[str, int]) -> bool:
    times = [elapsed for _, _, elapsed in results]
    statuses: dict[int, int] = {}
    for _, status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"\n{len(results)} requests in {seconds:.0f} s: {len(results) / seconds:.1f} requests/s")
    print(
        f"latency ms: p50 {percentile(times, 0.5):.0f}, p95 {percentile(times, 0.95):.0f}, "
        f"p99 {percentile(times, 0.99):.0f}, max {max(times) * 1000:.0f}"
    )
    print("statuses:", dict(sorted(statuses.items())))
    print("\n| kind | requests | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|")
    for kind in MIX:
        mine = [elapsed for k, _, elapsed in results if k == kind]
        print(
            f"| {kind} | {len(mine)} | {percentile(mine, 0.5):.0f} | {percentile(mine, 0.95):.0f} | "
            f"{percentile(mine, 0.99):.0f} |"
        )
    print(
        f"\nsingle PUT, one client, {len(single)} requests: p50 {percentile(single, 0.5):.1f} ms, "
        f"p95 {percentile(single, 0.95):.1f} ms, mean {statistics.mean(single) * 1000:.1f} ms"
    )
    print("invariants:", invariants)
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    return server_errors == 0 and not any(invariants.values())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--single-puts", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--database", default="contacts_api_bench")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--server-log", help="Write gunicorn's output (with DJANGO_LOG_LEVEL=INFO: each request's time)."
    )
    options = parser.parse_args()
    print(f"Seeding {options.database}…", flush=True)
    keys = prepare(options.database)
    try:
        env = _env(options.database) | ({"DJANGO_LOG_LEVEL": "INFO"} if options.server_log else {})
        with gunicorn_server(workers=options.workers, env=env, log_path=options.server_log) as address:
            run_mix(address, keys, options.clients, 3, seed=99)  # warm-up: imports, connections
            single = single_put(address, keys["bench-0"][0], options.single_puts)
            print(f"Running {options.clients} clients for {options.seconds:.0f} s…", flush=True)
            workers, backends = server_processes(address[1], options.database)
            started, load = time.monotonic(), os.getloadavg()[0]
            before = cpu_seconds(workers), cpu_seconds(backends)
            results = run_mix(address, keys, options.clients, options.seconds, seed=1)
            elapsed = time.monotonic() - started
            app, database = cpu_seconds(workers) - before[0], cpu_seconds(backends) - before[1]
        print(
            f"CPU a request: {app / len(results) * 1000:.1f} ms in gunicorn, "
            f"{database / len(results) * 1000:.1f} ms in PostgreSQL; load average at the start "
            f"{load:.1f} on {os.cpu_count()} cores"
        )
        ok = report(results, elapsed, single, check_invariants(options.database))
    finally:
        if not options.keep_database:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{options.database}"')
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
