"""Who may do what with profiles and versions.

Each rule returns a Verdict with the reason when it says no, so the same
rule makes a service refuse (PermissionDenied with that reason) and makes a
page disable the button and say why. The rules:

- Anyone signed in reads everything. Writing needs membership of a team.
- Profiles are created by administrators and RevOps managers or admins.
- Any team member may start a draft, edit an open version, and submit it.
- A person comments and signs off only as a team they belong to, and signs
  off only for a team the profile requires.
- A profile's approvers are its profile admins plus the managers and admins
  of its approving teams (RevOps by default); only they approve.
- The author of a version and its approvers may withdraw it.
"""

from dataclasses import dataclass

from profiles.models import Membership, Profile, ProfileVersion, Team, TeamFunction, User

MANAGING_ROLES = (Membership.Role.MANAGER, Membership.Role.ADMIN)


@dataclass(frozen=True)
class Verdict:
    """Yes, or no with the reason. `conflict` marks a no that comes from the
    version's status rather than from who is asking: the person saw it in
    another state, so a service answers it as a conflict (409), not 403."""

    allowed: bool
    reason: str = ""
    conflict: bool = False

    def __bool__(self) -> bool:
        return self.allowed


YES = Verdict(True)


def no(reason: str) -> Verdict:
    return Verdict(False, reason)


def moved_on(reason: str) -> Verdict:
    """No, because the version is in a status this cannot act on."""
    return Verdict(False, reason, conflict=True)


def roles_of(user: User) -> dict[int, str]:
    """The user's role in each of their teams, by team id (cached on the user)."""
    cached: dict[int, str] | None = getattr(user, "team_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("team_id", "role"))
        user.team_roles = cached
    return cached


def can_write(user: User) -> Verdict:
    if not user.is_authenticated:
        return no("Sign in first.")
    if not roles_of(user):
        return no("You are in no team, so you can read but not change anything.")
    return YES


def can_create_profile(user: User) -> Verdict:
    if user.is_superuser:
        return YES
    revops = set(Team.objects.filter(function=TeamFunction.REVOPS).values_list("id", flat=True))
    if any(team in revops and role in MANAGING_ROLES for team, role in roles_of(user).items()):
        return YES
    return no("Only administrators and RevOps managers create profiles.")


def is_approver(user: User, profile: Profile) -> bool:
    if profile.admins.filter(pk=user.pk).exists():
        return True
    approving = {t.pk for t in profile.approving_teams.all()}
    return any(t in approving and r in MANAGING_ROLES for t, r in roles_of(user).items())


def can_start_draft(user: User, open_version: ProfileVersion | None) -> Verdict:
    if not (verdict := can_write(user)):
        return verdict
    if open_version is not None:
        return no(
            f"v{open_version.number} is already open ({open_version.get_status_display()}); "
            "work on it, or withdraw it first."
        )
    return YES


def can_edit(user: User, version: ProfileVersion) -> Verdict:
    if not (verdict := can_write(user)):
        return verdict
    if not version.is_open:
        return moved_on(
            f"v{version.number} is {version.get_status_display().lower()} and can no longer "
            "change; start a new draft instead."
        )
    return YES


def can_submit(user: User, version: ProfileVersion) -> Verdict:
    if not (verdict := can_edit(user, version)):
        return verdict
    if version.status != ProfileVersion.Status.DRAFT:
        return moved_on(f"v{version.number} is already in review.")
    return YES


def can_act_for_team(user: User, team: Team) -> Verdict:
    if not user.is_authenticated:
        return no("Sign in first.")
    if team.pk not in roles_of(user):
        return no(f"You are not a member of {team.name}, so you cannot speak for it.")
    return YES


def can_comment(user: User, team: Team) -> Verdict:
    return can_act_for_team(user, team)


def can_sign_off(user: User, version: ProfileVersion, team: Team) -> Verdict:
    if not (verdict := can_act_for_team(user, team)):
        return verdict
    if not version.profile.required_teams.filter(pk=team.pk).exists():
        return no(f"{version.profile.name} does not ask {team.name} for sign-off.")
    if version.status != ProfileVersion.Status.IN_REVIEW:
        if version.status == ProfileVersion.Status.DRAFT:
            return moved_on(f"Sign-off opens when v{version.number} is submitted for review.")
        status = version.get_status_display().lower()
        return moved_on(f"v{version.number} is {status}; its sign-off is closed.")
    return YES


def can_approve(user: User, version: ProfileVersion) -> Verdict:
    if not user.is_authenticated:
        return no("Sign in first.")
    if not is_approver(user, version.profile):
        return no(
            "Only this profile's admins and the managers of its approving teams approve versions."
        )
    if version.status != ProfileVersion.Status.IN_REVIEW:
        return moved_on(f"v{version.number} must be in review to be approved.")
    return YES


def can_withdraw(user: User, version: ProfileVersion) -> Verdict:
    if not version.is_open:
        status = version.get_status_display().lower()
        return moved_on(f"v{version.number} is {status}; only open versions can be withdrawn.")
    if user.pk == version.created_by_id or is_approver(user, version.profile):
        return YES
    return no("Only the author of this version and the profile's approvers withdraw it.")
