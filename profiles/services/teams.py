"""Writes for teams and membership."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import slugify

from profiles.models import (
    Membership,
    Team,
    User,
)


def team_create(*, actor: User, name: str, function: str, slug: str = "") -> Team:
    if not actor.is_superuser:
        raise PermissionDenied("Only administrators create teams.")
    team = Team(name=name.strip(), slug=slug or slugify(name), function=function)
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def membership_set(*, actor: User, team: Team, user: User, role: str) -> Membership:
    """Add a person to a team, or change their role in it.

    Administrators and the team's own admins manage a roster.
    """
    is_team_admin = Membership.objects.filter(
        team=team, user=actor, role=Membership.Role.ADMIN
    ).exists()
    if not (actor.is_superuser or is_team_admin):
        raise PermissionDenied(f"Only an admin of {team} changes its members.")
    if role not in Membership.Role.values:
        choices = ", ".join(Membership.Role.values)
        raise ValidationError({"role": f"Choose one of {choices}; {role!r} is not a role."})
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership
