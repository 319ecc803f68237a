"""Benchmark: suggestions against a ten-criterion version over a large base.

    python bench/suggestions.py --accounts 1000000 [--tries 3] [--keep]
    python bench/suggestions.py --database icpsite_bench_api --reuse

Needs PostgreSQL. It creates its own database (DATABASE_URL's server,
database `icpsite_bench_suggestions` unless --database names another) with
the demo company and N synthetic accounts with their deal histories (about
176,000 closed deals at a million accounts, some 110,000 of them in the
default window), or measures one a benchmark kept (`--reuse`). It adds a
profile with one approved version of ten criteria (eight fit criteria over
numbers, categories, a list and a yes/no, two disqualifiers) and prints the
best and the median of --tries timings of `suggestions_for` (attribute lift
of every attribute, every candidate edit backtested alone over the whole
base and the window's deals, the re-weighting fitted and tested), and what
it found.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

from common import DEFAULT_SERVER, demo_database, drop_database, use_database

PROFILE = "bench-suggestions"
CRITERIA = [
    ("employees", "between", [150, 2500], 20, "fit"),
    ("industry", "in", ["SaaS", "Software", "Fintech"], 15, "fit"),
    ("crm", "in", ["Salesforce", "HubSpot"], 20, "fit"),
    ("funding_stage", "in", ["Series B", "Series C", "Series D", "Public"], 10, "fit"),
    ("has_revops", "is_true", None, 10, "fit"),
    ("country", "in", ["US", "GB"], 5, "fit"),
    ("annual_revenue", "gte", 10_000_000, 10, "fit"),
    ("tech_stack", "contains_any", ["slack", "segment"], 10, "fit"),
    ("industry", "in", ["B2C retail", "Consumer"], 0, "disqualifier"),
    ("country", "in", ["KP", "IR", "SY", "CU"], 0, "disqualifier"),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--database", default="icpsite_bench_suggestions")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure a database a benchmark kept, without loading"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.reuse:
        use_database(args.server, args.database)
    else:
        demo_database(args.server, args.database, args.accounts)

    from django.utils import timezone

    from profiles.models import Criterion, Profile, ProfileVersion, User
    from reviews.suggestions.suggest import suggestions_for
    from reviews.suggestions.window import window_for
    from scoring.models import Account, Deal

    owner = User.objects.order_by("pk").first()
    assert owner is not None, "the demo company has people"
    profile, _ = Profile.objects.get_or_create(
        slug=PROFILE, defaults={"name": "Bench suggestions", "created_by": owner}
    )
    version = profile.versions.filter(number=1).first()
    if version is None:
        version = ProfileVersion.objects.create(
            profile=profile,
            number=1,
            status="approved",
            approved_at=timezone.now() - timedelta(days=90),
            created_by=owner,
        )
        for position, (attribute, operator, value, points, kind) in enumerate(CRITERIA):
            Criterion.objects.create(
                version=version,
                attribute=attribute,
                operator=operator,
                value=value,
                points=points,
                kind=kind,
                category="firmographic",
                position=position,
            )
    window = window_for(profile=profile)
    closed = Deal.objects.filter(
        status__in=["won", "lost"], closed_at__gte=window.start, closed_at__lt=window.end
    ).count()
    print(
        f"{Account.objects.count():,} accounts; {closed:,} deals closed in the window "
        f"({window}); a version of {version.criteria.count()} criteria; "
        f"best and median of {args.tries} after one to warm up"
    )
    suggestions_for(version=version)
    seconds = []
    for _ in range(args.tries):
        started = time.monotonic()
        found = suggestions_for(version=version)
        seconds.append(time.monotonic() - started)
    print(f"suggestions  {min(seconds):6.2f} s {statistics.median(seconds):6.2f} s")
    print(f"{len(found.shown)} shown, {len(found.not_enough)} with not enough evidence yet:")
    for suggestion in found.shown:
        print(f"  {suggestion.effect.auc_gain:+.4f}  {suggestion.change}")
    if not args.keep and not args.reuse:
        drop_database(args.server, args.database)


if __name__ == "__main__":
    main()
