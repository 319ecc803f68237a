"""Make an API key for an integration and print it (the only time it is shown)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from icpsite.refusals import refusal_text
from profiles.models import User
from scoring.api_keys import api_key_create
from scoring.models import ApiKeyScope


class Command(BaseCommand):
    help = (
        "Create an API key acting as USER and print it. Only a digest is stored, so copy "
        "it now; revoke keys in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="Username the key acts as (their permissions apply).")
        parser.add_argument("--name", required=True, help="What uses the key.")
        parser.add_argument(
            "--scope",
            choices=ApiKeyScope.values,
            default=ApiKeyScope.READ,
            help="read (GET only), write (a CRM sync) or admin (also declares traits).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["user"])
        except User.DoesNotExist:
            raise CommandError(f"No user {options['user']!r}.") from None
        try:
            made = api_key_create(
                actor=None, name=options["name"], user=user, scope=options["scope"]
            )
        except ValidationError as exc:
            raise CommandError(refusal_text(exc)) from None
        self.stdout.write(made.plaintext)
