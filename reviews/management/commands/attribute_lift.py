"""Print attribute lift for a profile: per value of each attribute, its
closed deals, win rate with its Wilson interval, lift over the base, churn,
average won deal, accepted overrides claiming a higher and a lower tier, and
whether the evidence clears the minimum (docs/suggestions.md)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from icpsite.numbers import count, money
from profiles.models import Profile
from reviews.suggestions.lift import AttributeLift, Lift, Outcomes, UnknownAttributeError, lift_for
from reviews.suggestions.stats import Interval
from reviews.suggestions.window import window_for

HEADER = (
    "value",
    "deals",
    "won",
    "win rate (95% interval)",
    "lift",
    "churn",
    "avg deal",
    "overrides +/-",
    "evidence",
)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _with_interval(rate: float | None, interval: Interval | None) -> str:
    return "-" if rate is None or interval is None else f"{rate:.1%} ({interval})"


def _money(amount: Decimal | None) -> str:
    return "-" if amount is None else money(amount)


def _cells(label: str, outcomes: Outcomes, lift: float | None, evidence: str) -> tuple[str, ...]:
    return (
        label,
        count(outcomes.closed),
        count(outcomes.won),
        _with_interval(outcomes.win_rate, outcomes.win_interval),
        "-" if lift is None else f"{lift:.2f}",
        f"{_pct(outcomes.churn_rate)} of {count(outcomes.customers)}",
        _money(outcomes.avg_deal),
        f"+{outcomes.claimed_higher} / -{outcomes.claimed_lower}",
        evidence,
    )


def _date(value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r} is not a date; write it as YYYY-MM-DD.") from None
    return timezone.make_aware(datetime.combine(day, time.min))


class Command(BaseCommand):
    help = (
        "Print attribute lift for a profile: win rate, lift, churn, deal size and overrides "
        "per value of each attribute, and whether the evidence clears the minimum."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--profile", required=True, help="The profile's slug.")
        parser.add_argument(
            "--since",
            help="Start of the window, YYYY-MM-DD (default: the live version's approval, "
            "at least REVIEWS_LIFT_MIN_WINDOW_DAYS back); it ends now.",
        )
        parser.add_argument(
            "--attribute",
            action="append",
            dest="attributes",
            metavar="KEY",
            help="Only this attribute (a built-in's key or a trait's); repeat for more.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["profile"]
        profile = Profile.objects.filter(slug=slug).first()
        if profile is None:
            slugs = ", ".join(Profile.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No profile with the slug {slug!r}. Profiles: {slugs}.")
        since = _date(options["since"]) if options["since"] else None
        try:
            window = window_for(profile=profile, since=since)
        except ValueError as exc:
            raise CommandError(f"--since: {exc}") from None
        try:
            lift = lift_for(profile=profile, window=window, keys=options["attributes"])
        except UnknownAttributeError as exc:
            raise CommandError(f"--attribute: {exc}") from None
        self._print(lift)

    def _print(self, lift: Lift) -> None:
        base = lift.base
        self.stdout.write(f"Attribute lift for {lift.profile.name}, {lift.window}.")
        self.stdout.write(
            f"Base: {base.closed:,} closed deals, win rate "
            f"{_with_interval(base.win_rate, base.win_interval)}; churn "
            f"{_pct(base.churn_rate)} of {base.customers:,} customers; average won deal "
            f"{_money(base.avg_deal)}. Evidence needs {lift.min_deals} closed deals and a "
            "win-rate interval clear of the base's."
        )
        for attribute in lift.attributes:
            self.stdout.write("")
            self._table(attribute)

    def _table(self, attribute: AttributeLift) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(attribute.attribute.label))
        rows = [HEADER] + [
            _cells(v.label, v.outcomes, v.lift, "clears" if v.clears else "not enough evidence yet")
            for v in attribute.values
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
