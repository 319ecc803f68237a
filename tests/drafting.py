"""Helpers for tests that need a version filled, signed off or approved."""

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from profiles import services
from profiles.models import Profile, ProfileVersion, Team, User
from tests.factories import CriterionFactory, VersionFactory

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


def approve_new_version(
    icp: Profile, rep: User, marketer: User, ops_manager: User
) -> ProfileVersion:
    """Start a draft (FIT_100 when it starts empty), submit it, have every
    team sign it off and approve it, all through the services."""
    draft = services.version_start_draft(actor=ops_manager, profile=icp)
    if not draft.criteria.exists():
        draft = fill(draft, ops_manager)
    services.version_submit(actor=ops_manager, version=draft)
    sign_all(draft, rep, marketer, ops_manager)
    return services.version_approve(actor=ops_manager, version=draft)


def approved_version(
    profile: Profile, number: int, employees: list[int], status: str = "approved"
) -> ProfileVersion:
    """A version stored straight in `status`, without the services: employees
    in the `employees` range score 60, having RevOps 40, North Korea
    disqualifies."""
    approved_at = timezone.now() if status == "approved" else None
    version = VersionFactory.create(
        profile=profile, number=number, status=status, approved_at=approved_at
    )
    CriterionFactory.create(
        version=version, attribute="employees", operator="between", value=employees, points=60
    )
    CriterionFactory.create(
        version=version, attribute="has_revops", operator="is_true", value=None, points=40
    )
    CriterionFactory.create(
        version=version,
        attribute="country",
        operator="in",
        value=["KP"],
        points=0,
        kind="disqualifier",
    )
    return version


CriterionRow = tuple[str, str, Any, int, str]


def with_criteria(version: ProfileVersion, rows: Sequence[CriterionRow]) -> ProfileVersion:
    """The version with criteria (attribute, operator, value, points, kind)
    in that order."""
    for position, (attribute, operator, value, points, kind) in enumerate(rows):
        CriterionFactory(
            version=version,
            attribute=attribute,
            operator=operator,
            value=value,
            points=points,
            kind=kind,
            position=position,
        )
    return version
