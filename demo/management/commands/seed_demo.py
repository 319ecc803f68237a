import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from demo import seed
from demo.accounts import seed_accounts
from demo.history import live_run_dated
from demo.reviews import seed_reviews
from scoring.models import Account, ScoringRun
from scoring.services import run_in_process


class Command(BaseCommand):
    help = (
        "Fill the database with a believable demo company: teams and their people, and "
        "their ICP with fifteen months of history (v1 to v3 approved months apart, held check-ins) "
        "and a v4 in review. "
        "Safe to run again: it finds what an earlier run made and leaves it as it is."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=2026, help="Random seed; the same seed makes the same data."
        )
        parser.add_argument(
            "--password",
            default="icpsite-demo",
            help="Password given to every demo user (default: icpsite-demo).",
        )
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo data first, then seed it anew."
        )
        parser.add_argument(
            "--accounts",
            type=int,
            default=20_000,
            help="How many demo accounts to have (default 20,000; a million takes under a minute "
            "on PostgreSQL).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password: str = options["password"]
        if len(password) < 8:
            raise CommandError("--password: use at least 8 characters.")
        if options["reset"]:
            seed.reset()
            self.stdout.write("Removed the earlier demo data.")
        if options["accounts"] < 0:
            raise CommandError("--accounts: give a number of accounts, 0 or more.")
        users = seed.seed_people(password=password)
        started = time.monotonic()
        accounts = seed_accounts(count=options["accounts"], seed=options["seed"])
        self.stdout.write(
            f"Accounts: {accounts.total:,} ({accounts.created:,} new, "
            f"{time.monotonic() - started:.1f} s)."
        )
        seeded = seed.seed_profile(users=users)
        if seeded.live is not None:
            current = ScoringRun.objects.filter(profile=seeded.profile, is_current=True).first()
            if current is None or current.accounts_scored < Account.objects.count():
                run = run_in_process(profile=seeded.profile, version=seeded.live, actor=None)
                if run is not None:
                    version = seeded.live.number
                    self.stdout.write(f"Rescored {run.accounts_scored:,} accounts with v{version}.")
            if seeded.created and seeded.live.approved_at is not None:
                live_run_dated(profile=seeded.profile, at=seeded.live.approved_at)
        self.stdout.write(
            self.style.SUCCESS(f"Demo company ready: {len(users)} people in 5 teams.")
        )
        for line in seeded.lines():
            self.stdout.write(line)
        for line in seed_reviews(users=users, profile=seeded.profile).lines():
            self.stdout.write(line)
        self.stdout.write("Sign in with any of these (password for all: " + password + "):")
        for person in seed.PEOPLE:
            self.stdout.write(f"  {person.username:<8} {person.title}")
