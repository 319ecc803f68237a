"""Who may do what with overrides and check-ins.

- Any team member logs an override for themselves. Logging one in another
  rep's name needs a manager or admin of a team that rep is in, or the
  explicit permission to log overrides for anyone (`reviews.add_override`,
  granted in the admin to the CRM's integration account; superusers have
  it). Being staff or a profile admin is not enough.
- Only managers and admins of the rep's team, and the profile's admins,
  accept or reject an override; never the rep, nor whoever logged it (four
  eyes: a claim made in a rep's name is decided by someone else again).
- A check-in is closed by the profile's approvers and the managers of the
  teams the profile requires.
- Suggestions are adopted into an open version by whoever may edit it, or
  for the live version into a new draft by whoever may start one, while no
  other version is open; a superseded or withdrawn version takes none.
"""

from __future__ import annotations

from profiles.models import Profile, ProfileVersion, Team, User, VersionStatus
from profiles.policies import (
    MANAGING_ROLES,
    YES,
    Verdict,
    can_edit,
    can_start_draft,
    can_write,
    is_approver,
    no,
    roles_of,
)
from reviews.models import Override

LOG_FOR_ANYONE = "reviews.add_override"


def managed_team_ids(user: User) -> set[int]:
    return {team for team, role in roles_of(user).items() if role in MANAGING_ROLES}


def is_profile_admin(user: User, profile: Profile) -> bool:
    return profile.admins.filter(pk=user.pk).exists()


def can_log_override(actor: User, rep: User, team: Team | None = None) -> Verdict:
    """A rep logs their own claims; a manager or admin logs one in the name
    of a rep of a team they manage (`team`, when named, must be one), so a
    claim always lands with managers who know the rep."""
    if actor.pk == rep.pk:
        return can_write(actor)
    if not actor.is_authenticated:
        return no("Sign in first.")
    # The CRM logs in reps' names with an integration account that belongs
    # to no team: it holds the explicit permission instead.
    if actor.has_perm(LOG_FOR_ANYONE):
        return YES
    shared = managed_team_ids(actor) & set(roles_of(rep))
    if team is not None:
        shared &= {team.pk}
    if shared:
        return YES
    return no(f"Only {rep} and their managers log overrides in {rep}'s name.")


def can_review_override(actor: User, override: Override) -> Verdict:
    """Whoever decides a claim is a second person: not whoever logged it,
    and not the rep it is in the name of."""
    if not actor.is_authenticated:
        return no("Sign in first.")
    if override.logged_by_id == actor.pk:
        return no("You logged this claim, so another manager decides it.")
    if override.rep_id == actor.pk:
        return no("This claim is in your name, so another manager decides it.")
    if override.team_id in managed_team_ids(actor) or is_profile_admin(actor, override.profile):
        return YES
    return no(
        f"Only managers of {override.team.name} and the profile's admins accept or reject "
        "this override."
    )


def can_close_checkin(actor: User, profile: Profile) -> Verdict:
    if not actor.is_authenticated:
        return no("Sign in first.")
    if is_approver(actor, profile):
        return YES
    required = {team.pk for team in profile.required_teams.all()}
    if managed_team_ids(actor) & required:
        return YES
    return no(
        "Only the profile's approvers and the managers of the teams it requires close a check-in."
    )


def adoption_target_problem(version: ProfileVersion, open_version: ProfileVersion | None) -> str:
    """Why suggestions for `version` cannot be adopted now ("" when they
    can): an open version takes them itself, the live one through a new
    draft while no other version (`open_version`) is open."""
    if version.is_open:
        return ""
    if version.status != VersionStatus.APPROVED:
        return (
            f"v{version.number} is {version.get_status_display().lower()}: suggestions are "
            "adopted into the live version's next draft or an open version."
        )
    if open_version is not None:
        return f"v{open_version.number} is open: adopt into it from its own page."
    return ""


def can_adopt_suggestions(
    user: User, version: ProfileVersion, open_version: ProfileVersion | None
) -> Verdict:
    """Whether `user` may adopt suggestions for `version` (see the module's
    docstring); `open_version` is the profile's other open version, if any."""
    if problem := adoption_target_problem(version, open_version):
        return no(problem)
    if version.is_open:
        return can_edit(user, version)
    return can_start_draft(user, None)
