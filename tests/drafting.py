"""Helpers for tests that need a version filled, signed off or approved."""

from typing import Any

from profiles import services
from profiles.models import ProfileVersion, Team, User

# Fit criteria whose points add up to exactly 100.
FIT_100: list[tuple[str, str, Any, int]] = [
    ("employees", "between", [200, 2000], 30),
    ("industry", "in", ["SaaS", "Software"], 20),
    ("crm", "in", ["Salesforce", "HubSpot"], 25),
    ("funding_stage", "in", ["Series B", "Series C", "Series D"], 15),
    ("has_revops", "is_true", None, 10),
]


def fill(
    version: ProfileVersion, actor: User, rows: list[tuple[str, str, Any, int]] | None = None
) -> ProfileVersion:
    """Add criteria (FIT_100 unless given) through the services."""
    for attribute, operator, value, points in FIT_100 if rows is None else rows:
        version.refresh_from_db()
        services.criterion_add(
            actor=actor,
            version=version,
            revision=version.revision,
            attribute=attribute,
            operator=operator,
            value=value,
            points=points,
        )
    version.refresh_from_db()
    return version


def sign_for(version: ProfileVersion, people: dict[str, User]) -> None:
    """Approve the version as each team (by slug) through the given member."""
    for slug, user in people.items():
        services.signoff_give(
            actor=user, version=version, team=Team.objects.get(slug=slug), decision="approve"
        )


def sign_all(version: ProfileVersion, rep: User, marketer: User, ops_manager: User) -> None:
    """Sign-off from every team the usual test profile requires."""
    sign_for(version, {"sales": rep, "marketing": marketer, "revops": ops_manager})
