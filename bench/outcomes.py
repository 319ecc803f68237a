"""Benchmark: the reviews figures over a large account base with its deals.

    python bench/outcomes.py --accounts 200000 [--tries 3] [--keep]

Needs PostgreSQL. It creates its own database (DATABASE_URL's server,
database `icpsite_bench_outcomes` unless --database names another), loads
the demo company with N synthetic accounts and their deal histories, scores
them with the live version, and prints the best and the median of --tries
timings (the best is the steadier figure on a shared machine) of:

  evidence     a draft's evidence panel (backtest, agreement, numeric spreads)
  validation   the outcome validation figures, live beside the draft
  drift        both drift checks of the current run
  surprises    the review queue's surprises: their count and first page
  entries      the queue's surprises by account and kind: count and first page
  kinds        each kind of surprise this week against its usual week
  lift         attribute lift of every attribute over the default window
               (reviews.suggestions)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from common import DEFAULT_SERVER, demo_database, drop_database


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--database", default="icpsite_bench_outcomes")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database --keep left, without loading"
    )
    return parser.parse_args()


def timed(tries: int, work: Callable[[], Any]) -> tuple[float, float]:
    """The best and the median of `tries` runs, after one to warm the cache."""
    work()
    seconds = []
    for _ in range(tries):
        started = time.monotonic()
        work()
        seconds.append(time.monotonic() - started)
    return min(seconds), statistics.median(seconds)


def main() -> None:
    args = parse_args()
    if args.reuse:
        import os

        import django

        os.environ.update(
            DATABASE_URL=f"{args.server}/{args.database}",
            DJANGO_SETTINGS_MODULE="icpsite.settings",
        )
        django.setup()
    else:
        demo_database(args.server, args.database, args.accounts)

    from django.conf import settings
    from django.utils import timezone

    from demo.seed import PROFILE_SLUG
    from profiles.models import ProfileVersion, User
    from reviews.drift import drift_signals
    from reviews.evidence import evidence_for, validation_for
    from reviews.selectors import (
        SurpriseEntries,
        queue_surprises,
        surprise_kinds,
        surprise_window_start,
    )
    from reviews.suggestions.lift import lift_for
    from scoring.models import Account, Deal, ScoringRun

    run = ScoringRun.objects.select_related("version").get(
        profile__slug=PROFILE_SLUG, is_current=True
    )
    draft = ProfileVersion.objects.get(profile__slug=PROFILE_SLUG, status="in_review")
    manager = User.objects.get(username="sofia")
    closed = Deal.objects.filter(status__in=["won", "lost"]).count()
    print(
        f"{Account.objects.count():,} accounts, {Deal.objects.count():,} deals "
        f"({closed:,} closed); best and median of {args.tries}"
    )

    def surprises() -> None:
        since = timezone.now() - timedelta(days=settings.REVIEWS_SURPRISE_DAYS)
        listed = queue_surprises(viewer=manager, since=since)
        listed.count()
        list(listed[:25])

    def entries() -> None:
        grouped = SurpriseEntries(manager, surprise_window_start(), False)
        grouped.count()
        grouped[:25]

    figures = {
        "evidence": lambda: evidence_for(version=draft),
        "validation": lambda: validation_for(run=run, draft=draft),
        "drift": lambda: drift_signals(run=run),
        "surprises": surprises,
        "entries": entries,
        "kinds": lambda: surprise_kinds(viewer=manager),
        "lift": lambda: lift_for(profile=run.profile),
    }
    for label, work in figures.items():
        best, median = timed(args.tries, work)
        print(f"{label:<12} {best:6.2f} s {median:6.2f} s")
    if not args.keep and not args.reuse:
        drop_database(args.server, args.database)


if __name__ == "__main__":
    main()
