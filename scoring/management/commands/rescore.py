"""Rescore a profile's whole account base against its approved version, here
and now, with a progress bar. Useful after a bulk import or to check timing;
approvals rescore through the workers on their own."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from profiles.models import Profile, VersionStatus
from scoring import services

BAR_WIDTH = 40


class Command(BaseCommand):
    help = "Rescore every account against PROFILE's approved version, printing progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("profile", help="The profile's slug or name.")

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["profile"]
        profile = (
            Profile.objects.filter(slug=key).first() or Profile.objects.filter(name=key).first()
        )
        if profile is None:
            slugs = ", ".join(Profile.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No profile {key!r}. Profiles: {slugs}.")
        version = profile.versions.filter(status=VersionStatus.APPROVED).first()
        if version is None:
            raise CommandError(f"{profile.name} has no approved version to score with.")
        started = time.monotonic()
        finished = services.run_in_process(
            profile=profile, version=version, actor=None, progress=self._bar
        )
        self.stdout.write("")
        if finished is None:
            raise CommandError("A newer approval superseded this run; its own run carries on.")
        tiers = ", ".join(f"{tier} {n:,}" for tier, n in sorted(finished.tier_counts.items()))
        scored = (
            f"Scored {finished.accounts_scored:,} accounts with {profile.name} v{version.number}"
        )
        took = f"in {time.monotonic() - started:.1f} s ({tiers or 'no accounts'})."
        self.stdout.write(self.style.SUCCESS(f"{scored} {took}"))

    def _bar(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(BAR_WIDTH * share)
        self.stdout.write(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%}  {done}/{total} chunks",
            ending="",
        )
        self.stdout.flush()
