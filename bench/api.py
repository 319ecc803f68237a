"""Benchmark: the CRM sync API and the CSV import against gunicorn on PostgreSQL.

    python bench/api.py --accounts 1000000 [--upsert 100000] [--clients 2]
    python bench/api.py --accounts 20000 --only import [--import-rows 200000]
    python bench/api.py --accounts 1000000 --only accounts [--keep | --reuse] [--code DIR]

Creates its own database (`icpsite_bench_api` unless --database names
another) holding the demo company and N scored synthetic accounts, starts
gunicorn on a free port of 127.0.0.1 and prints:

  in    rows upserted per second, in requests of 1,000 through
        POST /api/v1/accounts/bulk-upsert/, each request scoring its new and
        changed rows against the current version before it answers, in
        three mixes: all new accounts, the same accounts again with about
        half their fields changed, and the same rows once more unchanged
  out   scores pulled per second through GET /api/v1/scores/, following
        `next` from the first page to the last (the whole base)
  list  p50 and p95 latency of a filtered page of the scores feed, filtered
        by tier and score range
  accounts  p50 and p95 latency of the accounts page a person sees, signed
        in, for each kind of filter separately (a tier, an industry, a
        country, a score range, a name or a domain searched, sorted by score
        or by name, and combinations of them) and over all of them
        (`--only accounts` runs this part alone)
  import  a CSV file of --import-rows new accounts (200,000 rows, about
        19 MB) uploaded on /accounts/import/ to a second gunicorn that
        enqueues on Redis, imported by a Celery worker on the default queue,
        its progress page polled until done: the upload's answer time and
        rows per second from the upload to done (`--only import` runs this
        part alone)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import DEFAULT_SERVER, ROOT, demo_database, drop_database, use_database

# The import's columns: enough to look like a CRM export, and 200,000 rows
# stay under the 20 MB limit.
IMPORT_COLUMNS = (
    "external_id", "name", "employees", "annual_revenue", "industry", "country", "crm",
    "has_revops", "tech_stack",
)  # fmt: skip

BATCH = 1000
PAGE = 5000
PASSWORD = "bench-password"  # noqa: S105 (a throwaway database's user)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts in the base")
    parser.add_argument("--upsert", type=int, default=100_000, help="new accounts pushed")
    parser.add_argument("--clients", type=int, default=2, help="concurrent pushing clients")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--samples", type=int, default=200, help="list pages timed, each kind")
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--database", default="icpsite_bench_api")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database --keep left, without loading"
    )
    parser.add_argument(
        "--only",
        choices=["all", "import", "accounts"],
        default="all",
        help="run every part, or the import, or the accounts page alone",
    )
    parser.add_argument(
        "--code",
        default=str(ROOT),
        help="serve the pages from this checkout (the code before a change, say), same database",
    )
    parser.add_argument("--import-rows", type=int, default=200_000, help="rows in the CSV file")
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    )
    return parser.parse_args()


def payload_rows(count: int) -> list[dict[str, Any]]:
    """`count` new accounts as a CRM would send them (the demo generator's
    distributions, under external ids of their own)."""
    from demo.accounts import _rows
    from scoring.models import CANONICAL_COLUMNS

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        return value

    # What the store derives or stamps itself, never sent.
    derived = {"list_index", "traits_canonical", *CANONICAL_COLUMNS.values()}
    skip = {*derived, "created_at", "updated_at", "traits"}
    rows = []
    for n, (row, _deals) in enumerate(_rows(seed=7, start=1, stop=count + 1), start=1):
        body = {k: plain(v) for k, v in row.items() if k not in skip}
        body["external_id"] = f"crm-{n:07d}"
        rows.append(body)
    return rows


def import_file(count: int) -> bytes:
    """A CSV file of `count` new accounts, as a CRM export would have them."""
    writer_buffer = io.StringIO()
    writer = csv.writer(writer_buffer)
    writer.writerow(IMPORT_COLUMNS)
    for n, row in enumerate(payload_rows(count), start=1):
        row["external_id"] = f"csv-{n:07d}"
        row["tech_stack"] = ";".join(row["tech_stack"])
        row["has_revops"] = {True: "yes", False: "no", None: ""}[row["has_revops"]]
        writer.writerow(["" if row[c] is None else row[c] for c in IMPORT_COLUMNS])
    return writer_buffer.getvalue().encode()


def start_web(
    env: dict[str, str], workers: int, code: str = str(ROOT)
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn on a free port, answering, serving the checkout `code`;
    returns the process and its address."""
    import requests

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "icpsite.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "300", "--log-level", "warning"],
        cwd=code, env={**env, "PYTHONPATH": code},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/health/", timeout=5).ok:
                return server, base
        except requests.RequestException:  # not listening yet, or still starting
            pass
        if time.monotonic() > deadline:
            server.terminate()
            raise SystemExit("gunicorn did not answer")
        time.sleep(0.2)


def sign_in(base: str) -> Any:
    import requests

    browser = requests.Session()
    browser.get(f"{base}/accounts/login/", timeout=30).raise_for_status()
    signed_in = browser.post(
        f"{base}/accounts/login/",
        data={
            "username": "bench",
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=30,
    )
    signed_in.raise_for_status()
    assert "sessionid" in browser.cookies, "could not sign in"
    return browser


def measure_import(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Upload a CSV file on the import page (web and worker through Redis)
    and follow its progress page until the job is done."""
    import redis

    from scoring.models import ImportJob

    data = import_file(args.import_rows)
    redis.Redis.from_url(args.redis).flushdb()
    env = {**env, "REDIS_URL": args.redis}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "icpsite", "worker", "-Q", "default",
         "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
         "--hostname", "bench-import@%h"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    server = None
    try:
        server, base = start_web(env, args.web_workers)
        browser = sign_in(base)
        form = browser.get(f"{base}/accounts/import/", timeout=30)
        form.raise_for_status()
        t = time.monotonic()
        response = browser.post(
            f"{base}/accounts/import/",
            data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            files={"file": ("accounts.csv", data, "text/csv")},
            headers={"Referer": f"{base}/accounts/import/"},
            allow_redirects=False,
            timeout=300,
        )
        upload_seconds = time.monotonic() - t
        if response.status_code != 302:
            raise SystemExit(f"upload refused: {response.status_code} {response.text[:500]}")
        page = base + response.headers["Location"]
        polls = 0
        while True:
            part = browser.get(page, headers={"HX-Request": "true"}, timeout=30)
            part.raise_for_status()
            polls += 1
            if "hx-trigger" not in part.text:
                break
            if time.monotonic() - t > 1800:
                raise SystemExit("the import did not finish in 30 minutes")
            time.sleep(0.5)
        done_seconds = time.monotonic() - t
    finally:
        for process in (server, worker):
            if process is not None:
                process.terminate()
                process.wait()
    job = ImportJob.objects.defer("data").get(pk=int(page.rstrip("/").rsplit("/", 1)[1]))
    if job.status != "done" or job.accounts_created != args.import_rows:
        raise SystemExit(f"import did not create every account: {job.status} {job.problems}")
    return {
        "rows": args.import_rows,
        "megabytes": len(data) / 1024 / 1024,
        "upload": upload_seconds,
        "done": done_seconds,
        "task": job.duration_seconds,
        "polls": polls,
    }


def print_import(figures: dict[str, Any]) -> None:
    rows = figures["rows"]
    print(f"import: {rows:,} rows ({figures['megabytes']:.1f} MB) on /accounts/import/")
    print(f"    upload answered in           {figures['upload']:>12.2f} s")
    print(f"    upload to done               {figures['done']:>12.1f} s   "
          f"({figures['polls']} polls of its page)")  # fmt: skip
    print(f"    rows per second              {rows / figures['done']:>12,.0f}")
    print(f"    the task alone               {figures['task']:>12.1f} s   "
          f"({rows / figures['task']:,.0f} rows per second)")  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def changed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same accounts with about half their fields changed, as a nightly
    sync sends them: every row changes its headcount, revenue, stage and
    stack, and keeps the rest."""
    changed = []
    for n, row in enumerate(rows):
        update = dict(row)
        update["employees"] = (row.get("employees") or 0) + 1 + n % 7
        update["annual_revenue"] = (row.get("annual_revenue") or 0) + 1000
        update["lifecycle_stage"] = (
            "customer" if row.get("lifecycle_stage") != "customer" else "lead"
        )
        update["tech_stack"] = [*(row.get("tech_stack") or [])[:2], "segment"]
        update["has_revops"] = not row.get("has_revops")
        update["funding_stage"] = (
            "Series C" if row.get("funding_stage") != "Series C" else "Series D"
        )
        update["crm"] = "Salesforce" if row.get("crm") != "Salesforce" else "HubSpot"
        changed.append(update)
    return changed


def bodies_of(rows: list[dict[str, Any]]) -> list[str]:
    return [json.dumps({"accounts": rows[i : i + BATCH]}) for i in range(0, len(rows), BATCH)]


def push_all(
    base: str, headers: dict[str, str], bodies: list[str], clients: int, outcome: str
) -> tuple[float, list[float]]:
    """POST every body to the bulk upsert, `clients` at a time; each row must
    come back `outcome`. The seconds in all and each request's latency."""
    import requests

    def push(body: str) -> float:
        with requests.Session() as http:
            t = time.monotonic()
            response = http.post(
                f"{base}/api/v1/accounts/bulk-upsert/", data=body, headers=headers, timeout=300
            )
            took = time.monotonic() - t
        answer = response.json()
        if response.status_code != 200 or answer[outcome] != BATCH:
            raise SystemExit(f"upsert refused: {response.status_code} {response.text[:500]}")
        return took

    t = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(push, bodies))
    return time.monotonic() - t, latencies


def pull_all(http: Any, base: str, profile: str) -> tuple[int, float]:
    """Follow the scores feed from its first page to its last: the scores
    pulled and the seconds it took."""
    pulled = 0
    url: str | None = f"{base}/api/v1/scores/"
    params: dict[str, Any] | None = {"profile": profile, "page_size": PAGE}
    t = time.monotonic()
    while url:
        response = http.get(url, params=params, timeout=300)
        response.raise_for_status()
        page = response.json()
        pulled += len(page["results"])
        url, params = page["next"], None
    return pulled, time.monotonic() - t


def timed_pages(session: Any, query: Any, samples: int) -> list[float]:
    """Latencies of `samples` pages asked by `query`, after ten that warm the caches."""
    latencies = []
    for i in range(samples + 10):
        url, params = query()
        t = time.monotonic()
        response = session.get(url, params=params, timeout=60)
        took = time.monotonic() - t
        response.raise_for_status()
        if i >= 10:
            latencies.append(took)
    return latencies


def feed_latencies(args: argparse.Namespace, base: str, http: Any, profile: str) -> list[float]:
    """Filtered pages of the scores feed, as a CRM's sync job asks for them:
    one tier, a score floor inside the tier's band."""
    rng = random.Random(1)  # noqa: S311

    def feed_query() -> tuple[str, dict[str, Any]]:
        tier = rng.choice("ABC")
        low, high = BANDS[tier]
        return f"{base}/api/v1/scores/", {
            "profile": profile,
            "tier": tier,
            "score_min": rng.randint(low, high - 5),
            "score_max": high,
            "page_size": 100,
        }

    return timed_pages(http, feed_query, args.samples)


BANDS = {"A": (70, 100), "B": (40, 69), "C": (1, 39)}


def account_queries(rng: random.Random) -> dict[str, Any]:
    """What a person asks of the accounts page, one function per kind of
    filter, each giving the query string of one page view."""
    from demo.accounts import COUNTRIES, INDUSTRIES
    from scoring.models import Account

    industries = [i for i in INDUSTRIES if i]
    countries = [c for c in COUNTRIES if c]  # the rare ones too: few matches
    bounds = Account.objects.order_by().values_list("pk", flat=True)
    low, high = bounds.order_by("pk").first() or 0, bounds.order_by("-pk").first() or 0
    ids = rng.sample(range(low, high + 1), min(500, high - low + 1))
    known = list(Account.objects.filter(pk__in=ids).values_list("name", "domain"))

    def tier() -> str:
        return rng.choice(["A", "B", "C", "DQ"])

    def name_searched() -> str:
        # A company's name as a person types it: lower case, maybe its end left off.
        name = rng.choice(known)[0].lower()
        return name[: rng.randint(max(3, len(name) - 3), len(name))]

    def domain_searched() -> str:
        domain = rng.choice(known)[1]
        return domain.split("-", 1)[-1] if rng.random() < 0.5 else domain

    def score_range() -> dict[str, Any]:
        floor = rng.randrange(0, 95, 5)
        return {"score_min": floor, "score_max": floor + rng.choice([5, 10, 20])}

    by_score = ["-score", "score"]
    return {
        "best first, no filter": lambda: {},
        "sorted by score": lambda: {"sort": rng.choice(by_score)},
        "sorted by name": lambda: {"sort": rng.choice(["name", "-name"])},
        "tier": lambda: {"tier": tier()},
        "industry": lambda: {"industry": rng.choice(industries)},
        "country": lambda: {"country": rng.choice(countries)},
        "score range": score_range,
        "name search": lambda: {"q": name_searched()},
        "domain search": lambda: {"q": domain_searched()},
        "tier + industry, by score or name": lambda: {
            "tier": tier(),
            "industry": rng.choice(industries),
            "sort": rng.choice(["-score", "name"]),
        },
        "tier + country + score range": lambda: {
            "tier": rng.choice("ABC"),
            "country": rng.choice(countries),
            **score_range(),
        },
        "industry + word searched, by name": lambda: {
            "industry": rng.choice(industries),
            "q": rng.choice(known)[0].split()[0].lower(),
            "sort": rng.choice(["", "name"]),
        },
        "page 2-5 of a tier": lambda: {"tier": tier(), "page": rng.randint(2, 5)},
    }


def account_latencies(args: argparse.Namespace, base: str) -> dict[str, list[float]]:
    """The accounts page over each kind of filter, `args.samples` views each."""
    rng = random.Random(2)  # noqa: S311
    browser = sign_in(base)
    latencies = {}
    for kind, params in account_queries(rng).items():
        latencies[kind] = timed_pages(
            browser, lambda params=params: (f"{base}/accounts/", params()), args.samples
        )
    return latencies


def print_accounts(lists: dict[str, list[float]]) -> None:
    print("accounts page, signed in, pages of 50     p50          p95")
    for name, latencies in lists.items():
        print(f"    {name:<36} {ms(latencies, 50)}  {ms(latencies, 95)}")
    every = [t for latencies in lists.values() for t in latencies]
    print(f"    {'all of them':<36} {ms(every, 50)}  {ms(every, 95)}   (target p95 <= 150 ms)")


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:>8.0f} ms"


def main() -> None:
    args = parse_args()
    env_settings = {"API_THROTTLE_RATE": "100000000/minute", "DEBUG": "false"}
    if args.reuse:
        database_url = use_database(args.server, args.database, **env_settings)
    else:
        database_url = demo_database(args.server, args.database, args.accounts, **env_settings)

    import requests
    from django.core.management import call_command

    from demo import seed
    from profiles.models import User
    from scoring.api_keys import api_key_create

    call_command("collectstatic", interactive=False, verbosity=0)  # pages run with DEBUG off
    bench_user, _ = User.objects.update_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    bench_user.set_password(PASSWORD)
    bench_user.save()
    env = {**os.environ, "DATABASE_URL": database_url, **env_settings}
    env.pop("REDIS_URL", None)
    if Path(args.code).resolve() != ROOT:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=args.code, env={**env, "PYTHONPATH": args.code}, check=True,
        )  # fmt: skip
    if args.only != "all":
        if args.only == "import":
            print_import(measure_import(args, env))
        else:
            server, base = start_web(env, args.web_workers, args.code)
            try:
                print_accounts(account_latencies(args, base))
            finally:
                server.terminate()
                server.wait()
        if not args.keep and not args.reuse:
            drop_database(args.server, args.database)
        return
    key = api_key_create(actor=None, name="bench", user=bench_user, scope="write").plaintext
    rows = payload_rows(args.upsert)
    updated = changed_rows(rows)
    mixes = [
        ("new accounts", bodies_of(rows), "created"),
        ("updates, half the fields changed", bodies_of(updated), "updated"),
        ("unchanged re-sends", bodies_of(updated), "unchanged"),
    ]
    server, base = start_web(env, args.web_workers, args.code)
    try:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        pushed = [
            (name, push_all(base, headers, bodies, args.clients, outcome))
            for name, bodies, outcome in mixes
        ]
        http = requests.Session()
        http.headers.update(headers)
        pulled, pull_seconds = pull_all(http, base, seed.PROFILE_SLUG)
        expected = args.accounts + len(rows)
        assert pulled == expected, f"pulled {pulled:,} scores of {expected:,}"
        feed = feed_latencies(args, base, http, seed.PROFILE_SLUG)
        accounts = account_latencies(args, base)
    finally:
        server.terminate()
        server.wait()

    targets = {"new accounts": 5_000, "updates, half the fields changed": 5_000}
    targets["unchanged re-sends"] = 20_000
    print(f"accounts in the base             {args.accounts:>12,}")
    print(f"gunicorn workers / push clients  {args.web_workers:>8} / {args.clients}")
    for name, (seconds, latencies) in pushed:
        rate = len(rows) / seconds
        print(f"in: {len(rows):,} {name} in {seconds:.1f} s, requests of {BATCH:,}")
        print(f"    rows per second              {rate:>12,.0f}   (target {targets[name]:,})")
        print(f"    request p50 / p95            {ms(latencies, 50)} / {ms(latencies, 95)}")
    print(f"out: {pulled:,} scores in {pull_seconds:.1f} s, pages of {PAGE:,}")
    print(f"    scores per second            {pulled / pull_seconds:>12,.0f}   (target 50,000)")
    print(f"list, scores feed filtered      p50 {ms(feed, 50)}, p95 {ms(feed, 95)}")
    print("    (target p95 <= 100 ms)")
    print_accounts(accounts)
    print_import(measure_import(args, env))
    if not args.keep and not args.reuse:
        drop_database(args.server, args.database)


if __name__ == "__main__":
    main()
