"""Benchmark: rescoring the whole account base on an approval, end to end.

    python bench/rescore.py --accounts 1000000 [--workers 2] [--keep]

Needs PostgreSQL and Redis. It creates its own database (DATABASE_URL's
server, database `icpsite_bench` unless --database names another), loads the
demo company with N synthetic accounts (COPY), starts real Celery workers,
signs off and approves the demo draft through the service, and prints,
measured in the same run on the same database:

  a  the floor: INSERT INTO <scratch table with the same primary key>
     SELECT <run>, id, 0, 'C', 0 FROM the accounts (median of three)
  b  approval commit -> the new run is current (through Redis and workers)
  b/a
  d  the naive ORM loop (engine + update_or_create per account) on 10,000
     accounts, extrapolated to N; and d/b
  and the workers' peak resident memory, to show it does not grow with N.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from common import DEFAULT_SERVER, ROOT, demo_database, drop_database, rss_kib


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (each --concurrency 2)"
    )
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--database", default="icpsite_bench")
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    )
    parser.add_argument("--naive", type=int, default=10_000, help="accounts for the naive loop")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    database_url = demo_database(args.server, args.database, args.accounts, REDIS_URL=args.redis)

    import redis
    from django.db import connection

    from demo import seed
    from profiles import services as profile_services
    from profiles.models import ProfileVersion, Team, User
    from scoring import score_tables, services
    from scoring.engine import evaluate
    from scoring.models import Account, AccountScore, RunStatus, ScoringRun
    from scoring.rulesets import ruleset_for

    redis.Redis.from_url(args.redis).flushdb()

    # (a) the floor, the median of three tries (one try varies by 15 % or more)
    floors = []
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute(
                "CREATE TABLE bench_floor (run_id integer, account_id bigint, score smallint, "
                "tier varchar(2), matched bigint, PRIMARY KEY (run_id, account_id))"
            )
            cursor.execute("CHECKPOINT")  # each try, and b, starts with no checkpoint due
            t = time.monotonic()
            cursor.execute("INSERT INTO bench_floor SELECT 1, id, 0, 'C', 0 FROM scoring_account")
            floors.append(time.monotonic() - t)
            cursor.execute("DROP TABLE bench_floor")
    floor = sorted(floors)[1]

    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "icpsite", "worker", "-Q", "scoring,default",
             "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
             "--hostname", f"bench{i}@%h"],
            cwd=ROOT, env=env,
        )
        for i in range(args.workers)
    ]  # fmt: skip
    try:
        from icpsite.celery import app

        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=1.0) or []) < args.workers:
            if time.monotonic() > deadline:
                raise SystemExit("workers did not answer")

        # (b) approval commit -> flip, through the service, Redis and the workers
        draft = ProfileVersion.objects.get(profile__slug=seed.PROFILE_SLUG, status="in_review")
        for username, team in (("grace", "customer-success"), ("riley", "revops")):
            profile_services.signoff_give(
                actor=User.objects.get(username=username),
                version=draft,
                team=Team.objects.get(slug=team),
                decision="approve",
            )
        approver = User.objects.get(username="riley")
        peak = sum(rss_kib(w.pid) for w in workers)
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        # b starts when the approval has committed (and queued the run on commit).
        profile_services.version_approve(actor=approver, version=draft)
        t0 = time.monotonic()
        run = ScoringRun.objects.get(version=draft)
        while True:
            run.refresh_from_db()
            if not run.is_active:
                break
            peak = max(peak, sum(rss_kib(w.pid) for w in workers))
            time.sleep(0.005)
        end_to_end = time.monotonic() - t0
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert AccountScore.objects.filter(run=run).count() == args.accounts
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()

    # (d) the naive loop: the engine and update_or_create, one account at a time
    ruleset = ruleset_for(draft)
    naive_run = ScoringRun.objects.create(
        profile=draft.profile, version=draft, status=RunStatus.FAILED
    )
    score_tables.create(naive_run.pk)
    sample = list(Account.objects.order_by("id")[: args.naive])
    t = time.monotonic()
    for account in sample:
        result = evaluate(ruleset, account.facts())
        AccountScore.objects.update_or_create(
            run=naive_run,
            account=account,
            defaults={"score": result.score, "tier": result.tier, "matched": result.matched_mask},
        )
    naive = (time.monotonic() - t) * args.accounts / len(sample)
    services.runs_delete(run_ids=[naive_run.pk])

    print(f"accounts                         {args.accounts:>12,}")
    print(f"workers x concurrency            {args.workers:>12} x 2")
    print(f"chunks                           {run.chunks_total:>12}")
    tries = ", ".join(f"{f:.2f}" for f in floors)
    print(f"(a) floor INSERT ... SELECT      {floor:>12.2f} s  (median of {tries})")
    print(f"(b) approval -> flip, end to end {end_to_end:>12.2f} s")
    print(f"    b / a                        {end_to_end / floor:>12.2f}")
    print(f"(d) naive loop, extrapolated     {naive:>12.0f} s  (measured on {len(sample):,})")
    print(f"    d / b                        {naive / end_to_end:>12.0f}")
    print(f"workers' peak memory             {peak / 1024:>12.0f} MiB")
    print(f"tier movement                    {run.tier_movement}")
    if not args.keep:
        drop_database(args.server, args.database)


if __name__ == "__main__":
    main()
