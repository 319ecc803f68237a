"""What the benchmarks share: a throwaway PostgreSQL database with the demo
company loaded, and process memory readings."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SERVER = os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")


def recreate_database(server: str, name: str, *, create: bool = True) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def demo_database(server: str, name: str, accounts: int, **env: str) -> str:
    """A fresh database `name` with the demo company and `accounts` synthetic
    accounts, scored; Django is set up against it. Returns its URL."""
    recreate_database(server, name)
    database_url = use_database(server, name, **env)
    from django.core.management import call_command
    from django.db import connection

    started = time.monotonic()
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", "--accounts", str(accounts), stdout=quiet)
    print(
        f"loaded {accounts:,} accounts and the demo company in {time.monotonic() - started:.1f} s"
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return database_url


def use_database(server: str, name: str, **env: str) -> str:
    """Set Django up against the existing database `name` (one a benchmark
    kept with --keep) and return its URL; migrations it lacks are applied."""
    database_url = f"{server}/{name}"
    os.environ.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="icpsite.settings", **env)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return database_url


def drop_database(server: str, name: str) -> None:
    from django.db import connection

    connection.close()
    recreate_database(server, name, create=False)


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children, in KiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        status = Path(f"/proc/{p}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total
