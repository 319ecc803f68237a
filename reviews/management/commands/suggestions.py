"""Print a version's suggestions: each ranked edit with its sentence,
evidence and backtest, the edits without enough evidence yet, and the
re-weighting's points table (docs/suggestions.md). With --json, the same
JSON as the API's suggestions endpoint."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.utils.encoders import JSONEncoder

from icpsite.numbers import count, percent
from profiles.models import Profile, ProfileVersion, VersionStatus
from reviews.suggestions import suggest
from reviews.suggestions.api import SuggestionsSerializer
from reviews.suggestions.model import Suggestions
from reviews.suggestions.text import one_by_one, points_lines, suggestion_lines


def _version(slug: str, number: int | None) -> ProfileVersion:
    profile = Profile.objects.filter(slug=slug).first()
    if profile is None:
        slugs = ", ".join(Profile.objects.values_list("slug", flat=True)) or "none yet"
        raise CommandError(f"No profile with the slug {slug!r}. Profiles: {slugs}.")
    versions = profile.versions.select_related("profile")
    if number is not None:
        version = versions.filter(number=number).first()
        if version is None:
            numbers = ", ".join(str(n) for n in versions.values_list("number", flat=True))
            raise CommandError(
                f"--version: {profile.name} has no v{number}; its versions: {numbers or 'none'}."
            )
        return version
    version = (
        versions.filter(status=VersionStatus.APPROVED).first()
        or versions.order_by("-number").first()
    )
    if version is None:
        raise CommandError(f"{profile.name} has no version yet.")
    return version


class Command(BaseCommand):
    help = (
        "Print a version's suggestions (the live version unless --version names one): each "
        "edit with its evidence and backtest, those without enough evidence yet, and the "
        "re-weighting."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        """--version names a profile version here, in place of Django's own
        --version (the framework's release), which this command does not take."""
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("profile", help="The profile's slug.")
        parser.add_argument(
            "--version",
            type=int,
            dest="number",
            metavar="N",
            help="The version number (default: the live version, else the newest).",
        )
        parser.add_argument("--json", action="store_true", help="The API's JSON instead of text.")

    def handle(self, *args: Any, **options: Any) -> None:
        version = _version(options["profile"], options["number"])
        suggestions = suggest.current_suggestions(version=version)
        if options["json"]:
            data = SuggestionsSerializer(suggestions).data
            self.stdout.write(json.dumps(data, cls=JSONEncoder, indent=2))
            return
        self._print(suggestions)

    def _print(self, suggestions: Suggestions) -> None:
        version, base = suggestions.version, suggestions.base
        self.stdout.write(
            f"Suggestions for {version.profile.name} v{version.number}, {suggestions.window}."
        )
        self.stdout.write(
            f"Base: {count(base.closed)} closed deals, win rate {percent(base.win_rate)}. "
            f"A suggestion needs {count(suggestions.min_deals)} closed deals and a win-rate "
            "interval clear of the base's."
        )
        edits = one_by_one(suggestions.shown)
        if not edits:
            self.stdout.write("")
            self.stdout.write("No edit clears the minimum evidence yet.")
        for rank, suggestion in enumerate(edits, start=1):
            self.stdout.write("")
            first, *rest = suggestion_lines(suggestion)
            self.stdout.write(self.style.MIGRATE_HEADING(f"{rank}. {first}  [{suggestion.key}]"))
            for line in rest:
                self.stdout.write(f"   {line}")
        waiting = one_by_one(suggestions.not_enough)
        if waiting:
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING("Not enough evidence yet"))
            for suggestion in waiting:
                self.stdout.write(f"- {suggestion.change} ({suggestion.standing})")
        reweighting = suggestions.reweighting
        if reweighting is not None:
            self.stdout.write("")
            reweight = reweighting.suggestion
            heading = "Re-weighting"
            if reweight is not None:
                state = "suggested" if reweight.shown else f"not suggested: {reweight.standing}"
                heading += f" ({state})  [{reweight.key}]"
            self.stdout.write(self.style.MIGRATE_HEADING(heading))
            if reweight is not None:
                self.stdout.write(f"   {reweight.sentence}")
            for line in points_lines(reweighting):
                self.stdout.write(f"   {line}")
