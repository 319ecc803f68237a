"""Writes for teams and membership. Every write names the acting user.

Services raise Django's PermissionDenied (the actor may not do this) and
ValidationError (the input is wrong, naming the field); both leave the
database as it was.
"""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.text import slugify

from profiles import policies
from profiles.attributes import (
    CATEGORIES,
    MAX_CRITERIA,
    OPERATOR_LABELS,
    OPERATORS_BY_TYPE,
    Operator,
    validate_value,
)
from profiles.models import (
    OPEN_STATUSES,
    Comment,
    Criterion,
    CriterionKind,
    Membership,
    Profile,
    ProfileVersion,
    SignOff,
    SignOffDecision,
    Team,
    TeamFunction,
    User,
    VersionEvent,
    VersionStatus,
)
from profiles.selectors import (
    attribute_registry,
    criterion_text,
    version_approval_problems,
)
from profiles.signals import version_approved


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


# --- Profiles and versions -------------------------------------------------


class StaleRevisionError(ValidationError):
    """An edit was based on a revision that is no longer current.

    Carries the current revision and the events since the editor's revision,
    so the editor can be told who changed what, and nothing typed is lost.
    """

    def __init__(self, version: ProfileVersion, based_on: int) -> None:
        self.current_revision = version.revision
        self.based_on = based_on
        self.events = list(
            version.events.filter(revision__gt=based_on)
            .select_related("actor")
            .order_by("created_at", "id")
        )
        changes = "; ".join(
            f"{e.actor.get_full_name() or e.actor.username if e.actor else 'someone'} "
            f"{e.get_verb_display()}: {e.summary}"
            for e in self.events[:5]
        )
        super().__init__(
            f"v{version.number} changed after you loaded it (you had revision {based_on}, "
            f"it is now {version.revision}): {changes or 'edited'}. "
            "Your input is kept below; check the current state and save again.",
            code="stale_revision",
        )


def _log(
    version: ProfileVersion,
    actor: User | None,
    verb: str,
    summary: str,
    *,
    team: Team | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> VersionEvent:
    return VersionEvent.objects.create(
        version=version,
        actor=actor,
        team=team,
        verb=verb,
        summary=summary[:300],
        before=before,
        after=after,
        revision=version.revision,
    )


def _require(verdict: policies.Verdict) -> None:
    if not verdict:
        raise PermissionDenied(verdict.reason)


@transaction.atomic
def profile_create(
    *,
    actor: User,
    name: str,
    description: str = "",
    required_teams: Iterable[Team] = (),
    approving_teams: Iterable[Team] | None = None,
    admins: Iterable[User] = (),
    checkin_cadence: int = Profile.Cadence.QUARTERLY,
) -> Profile:
    """Create a profile. Approving teams default to the RevOps teams."""
    _require(policies.can_create_profile(actor))
    profile = Profile(
        name=name.strip(),
        slug=slugify(name)[:120],
        description=description,
        checkin_cadence=checkin_cadence,
        created_by=actor,
    )
    profile.full_clean()
    profile.save()
    required = list(required_teams)
    if not required:
        raise ValidationError({"required_teams": "Choose at least one team whose sign-off counts."})
    profile.required_teams.set(required)
    if approving_teams is None:
        approving_teams = Team.objects.filter(function=TeamFunction.REVOPS)
    profile.approving_teams.set(list(approving_teams))
    profile.admins.set(list(admins))
    return profile


def _criterion_snapshot(criterion: Criterion) -> dict[str, Any]:
    return {
        "attribute": criterion.attribute,
        "operator": criterion.operator,
        "value": criterion.value,
        "points": criterion.points,
        "kind": criterion.kind,
        "category": criterion.category,
        "rationale": criterion.rationale,
    }


@transaction.atomic
def version_start_draft(
    *, actor: User, profile: Profile, source: ProfileVersion | None = None, rationale: str = ""
) -> ProfileVersion:
    """Open a new draft, copied from `source` (default: the approved version) or empty.

    A profile has at most one open version; copied criteria keep their lineage.
    """
    Profile.objects.select_for_update().get(pk=profile.pk)
    open_version = profile.versions.filter(status__in=OPEN_STATUSES).first()
    _require(policies.can_start_draft(actor, profile, open_version))
    if source is None:
        source = profile.versions.filter(status=VersionStatus.APPROVED).first()
    elif source.profile_id != profile.pk:
        raise ValidationError({"source": "The source version belongs to another profile."})
    number = (profile.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = ProfileVersion.objects.create(
        profile=profile,
        number=number,
        parent=source,
        rationale=rationale,
        threshold_a=source.threshold_a if source else 70,
        threshold_b=source.threshold_b if source else 40,
        created_by=actor,
    )
    if source is not None:
        Criterion.objects.bulk_create(
            Criterion(
                version=draft,
                lineage=c.lineage,
                attribute=c.attribute,
                operator=c.operator,
                value=c.value,
                points=c.points,
                kind=c.kind,
                category=c.category,
                rationale=c.rationale,
                position=c.position,
            )
            for c in source.criteria.all()
        )
    origin = f"from v{source.number}" if source else "empty"
    _log(draft, actor, VersionEvent.Verb.CREATED, f"Started v{number} {origin}.")
    return draft


def _claim_edit(*, actor: User, version: ProfileVersion, revision: int) -> None:
    """Take the next revision of an open version, or refuse.

    A conditional UPDATE: it proceeds only if the version is still open and
    still at the revision the editor saw, so two concurrent edits cannot both
    win and neither is silently overwritten.
    """
    _require(policies.can_edit(actor, version))
    claimed = ProfileVersion.objects.filter(
        pk=version.pk, revision=revision, status__in=OPEN_STATUSES
    ).update(revision=F("revision") + 1, updated_at=timezone.now())
    version.refresh_from_db()
    if claimed != 1:
        _require(policies.can_edit(actor, version))
        raise StaleRevisionError(version, revision)


def _clean_criterion_input(
    *, attribute: str, operator: str, value: Any, points: Any, kind: str, category: str | None
) -> dict[str, Any]:
    """Validate one criterion's fields; errors name the field and say what to do."""
    registry = attribute_registry()
    errors: dict[str, str] = {}
    attr = registry.get(attribute)
    if attr is None:
        errors["attribute"] = f"Unknown attribute {attribute!r}; choose one from the list."
    if kind not in CriterionKind.values:
        errors["kind"] = "Choose fit or disqualifier."
    try:
        points_int = int(points)
        if isinstance(points, bool) or str(points_int) != str(points).strip():
            raise ValueError
    except (TypeError, ValueError):
        errors["points"] = "Points must be a whole number from 0 to 100."
        points_int = 0
    if not 0 <= points_int <= 100:
        errors["points"] = "Points must be a whole number from 0 to 100."
    if kind == CriterionKind.DISQUALIFIER:
        points_int = 0
    clean_value = value
    if attr is not None:
        if operator not in set(Operator) or Operator(operator) not in OPERATORS_BY_TYPE[attr.type]:
            allowed = ", ".join(OPERATOR_LABELS[o] for o in OPERATORS_BY_TYPE[attr.type])
            errors["operator"] = f"{attr.label} takes one of: {allowed}."
        else:
            try:
                clean_value = validate_value(attr, Operator(operator), value)
            except ValueError as exc:
                errors["value"] = str(exc)
    if category is None or category == "":
        category = attr.category if attr else ""
    if category not in CATEGORIES:
        errors["category"] = f"Choose one of {', '.join(CATEGORIES)}."
    if errors:
        raise ValidationError(errors)
    return {
        "attribute": attribute,
        "operator": operator,
        "value": clean_value,
        "points": points_int,
        "kind": kind,
        "category": category,
    }


@transaction.atomic
def criterion_add(
    *,
    actor: User,
    version: ProfileVersion,
    revision: int,
    attribute: str,
    operator: str,
    value: Any,
    points: Any = 0,
    kind: str = CriterionKind.FIT,
    category: str | None = None,
    rationale: str = "",
) -> Criterion:
    fields = _clean_criterion_input(
        attribute=attribute,
        operator=operator,
        value=value,
        points=points,
        kind=kind,
        category=category,
    )
    if version.criteria.count() >= MAX_CRITERIA:
        raise ValidationError(f"A version holds at most {MAX_CRITERIA} criteria.")
    _claim_edit(actor=actor, version=version, revision=revision)
    position = (version.criteria.aggregate(p=Max("position"))["p"] or 0) + 1
    criterion = Criterion.objects.create(
        version=version, position=position, rationale=rationale.strip()[:300], **fields
    )
    _log(
        version,
        actor,
        VersionEvent.Verb.CRITERION_ADDED,
        criterion_text(criterion),
        after=_criterion_snapshot(criterion),
    )
    return criterion


@transaction.atomic
def criterion_update(
    *,
    actor: User,
    criterion: Criterion,
    revision: int,
    attribute: str,
    operator: str,
    value: Any,
    points: Any,
    kind: str,
    category: str | None = None,
    rationale: str = "",
) -> Criterion:
    fields = _clean_criterion_input(
        attribute=attribute,
        operator=operator,
        value=value,
        points=points,
        kind=kind,
        category=category,
    )
    version = criterion.version
    _claim_edit(actor=actor, version=version, revision=revision)
    criterion = Criterion.objects.select_for_update().get(pk=criterion.pk)
    before = _criterion_snapshot(criterion)
    for name, val in {**fields, "rationale": rationale.strip()[:300]}.items():
        setattr(criterion, name, val)
    criterion.save()
    after = _criterion_snapshot(criterion)
    changed = [k for k in after if before[k] != after[k]]
    _log(
        version,
        actor,
        VersionEvent.Verb.CRITERION_CHANGED,
        f"{criterion_text(criterion)} ({', '.join(changed) or 'no change'})",
        before=before,
        after=after,
    )
    return criterion


@transaction.atomic
def criterion_remove(*, actor: User, criterion: Criterion, revision: int) -> None:
    version = criterion.version
    _claim_edit(actor=actor, version=version, revision=revision)
    before = _criterion_snapshot(criterion)
    text = criterion_text(criterion)
    criterion.delete()
    _log(version, actor, VersionEvent.Verb.CRITERION_REMOVED, text, before=before)


@transaction.atomic
def version_update(
    *,
    actor: User,
    version: ProfileVersion,
    revision: int,
    rationale: str,
    threshold_a: Any,
    threshold_b: Any,
) -> ProfileVersion:
    """Change a version's rationale and tier thresholds."""
    errors: dict[str, str] = {}
    a = _whole_number(threshold_a)
    b = _whole_number(threshold_b)
    if a is None or not 1 <= a <= 100:
        errors["threshold_a"] = "Tier A starts at a whole number from 1 to 100."
    if b is None or not 0 <= b <= 100:
        errors["threshold_b"] = "Tier B starts at a whole number from 0 to 100."
    if a is not None and b is not None and not errors and b >= a:
        errors["threshold_b"] = f"Tier B must start below tier A ({a})."
    if errors:
        raise ValidationError(errors)
    assert a is not None
    assert b is not None
    _claim_edit(actor=actor, version=version, revision=revision)
    before = {
        "rationale": version.rationale,
        "threshold_a": version.threshold_a,
        "threshold_b": version.threshold_b,
    }
    version.rationale = rationale.strip()
    version.threshold_a, version.threshold_b = a, b
    version.save(update_fields=["rationale", "threshold_a", "threshold_b", "updated_at"])
    after = {"rationale": version.rationale, "threshold_a": a, "threshold_b": b}
    changed = [k for k in after if before[k] != after[k]]
    _log(
        version,
        actor,
        VersionEvent.Verb.EDITED,
        f"Changed {', '.join(changed) or 'nothing'}.",
        before=before,
        after=after,
    )
    return version


def _whole_number(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    try:
        number = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return number


@transaction.atomic
def version_submit(*, actor: User, version: ProfileVersion) -> ProfileVersion:
    """Send a draft to review: required teams may now sign off."""
    version = ProfileVersion.objects.select_for_update().get(pk=version.pk)
    _require(policies.can_submit(actor, version))
    version.status = VersionStatus.IN_REVIEW
    version.submitted_by = actor
    version.submitted_at = timezone.now()
    version.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
    _log(version, actor, VersionEvent.Verb.SUBMITTED, f"Submitted v{version.number} for review.")
    return version


@transaction.atomic
def comment_create(
    *,
    actor: User,
    version: ProfileVersion,
    team: Team,
    body: str,
    criterion: Criterion | None = None,
    parent: Comment | None = None,
) -> Comment:
    _require(policies.can_comment(actor, version, team))
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write something to comment."})
    if len(body) > 5000:
        raise ValidationError({"body": "Keep a comment under 5,000 characters."})
    if criterion is not None and criterion.version_id != version.pk:
        raise ValidationError({"criterion": "That criterion belongs to another version."})
    if parent is not None:
        if parent.version_id != version.pk:
            raise ValidationError({"parent": "You can only reply to a comment on this version."})
        parent = parent.parent or parent
        criterion = parent.criterion
    comment = Comment.objects.create(
        version=version,
        team=team,
        author=actor,
        body=body,
        criterion=criterion,
        criterion_label=criterion_text(criterion) if criterion else "",
        parent=parent,
    )
    where = f" on {comment.criterion_label}" if criterion else ""
    _log(
        version,
        actor,
        VersionEvent.Verb.COMMENTED,
        f"As {team.name}{where}: {body[:120]}",
        team=team,
    )
    return comment


@transaction.atomic
def comment_resolve(*, actor: User, comment: Comment, resolved: bool = True) -> Comment:
    """Mark a thread resolved (or reopen it). Members of the thread's team and
    the version's approvers may do it."""
    comment = (
        Comment.objects.select_for_update()
        .select_related("version__profile", "team")
        .get(pk=comment.pk)
    )
    root = comment.parent or comment
    if not (
        policies.can_act_for_team(actor, root.team)
        or policies.is_approver(actor, comment.version.profile)
    ):
        raise PermissionDenied(
            f"Only members of {root.team.name} and the profile's approvers resolve this thread."
        )
    Comment.objects.filter(pk=root.pk).update(
        resolved=resolved,
        resolved_by=actor if resolved else None,
        resolved_at=timezone.now() if resolved else None,
    )
    root.refresh_from_db()
    verb = "Resolved" if resolved else "Reopened"
    _log(root.version, actor, VersionEvent.Verb.RESOLVED, f"{verb}: {root.body[:120]}")
    return root


@transaction.atomic
def signoff_give(
    *,
    actor: User,
    version: ProfileVersion,
    team: Team,
    decision: str,
    note: str = "",
    revision: int | None = None,
) -> SignOff:
    """Record a team's decision on the version's current revision.

    `revision`, when given, is the revision the person looked at; signing a
    revision that has since changed is refused, so nobody approves content
    they have not seen. Requesting changes sends the version back to draft.
    """
    version = ProfileVersion.objects.select_for_update().get(pk=version.pk)
    _require(policies.can_sign_off(actor, version, team))
    if decision not in SignOffDecision.values:
        raise ValidationError({"decision": "Choose approve or request changes."})
    note = note.strip()
    if decision == SignOffDecision.REQUEST_CHANGES and not note:
        raise ValidationError({"note": "Say what should change."})
    if revision is not None and revision != version.revision:
        raise StaleRevisionError(version, revision)
    signoff, _ = SignOff.objects.update_or_create(
        version=version,
        team=team,
        defaults={"user": actor, "decision": decision, "note": note, "revision": version.revision},
    )
    if decision == SignOffDecision.REQUEST_CHANGES:
        version.status = VersionStatus.DRAFT
        version.save(update_fields=["status", "updated_at"])
        _log(
            version,
            actor,
            VersionEvent.Verb.CHANGES_REQUESTED,
            f"{team.name} requested changes: {note[:200]}",
            team=team,
        )
    else:
        _log(
            version,
            actor,
            VersionEvent.Verb.SIGNED_OFF,
            f"{team.name} approved revision {version.revision}"
            + (f": {note[:150]}" if note else "."),
            team=team,
        )
    return signoff


@transaction.atomic
def version_withdraw(*, actor: User, version: ProfileVersion, reason: str = "") -> ProfileVersion:
    version = ProfileVersion.objects.select_for_update().get(pk=version.pk)
    _require(policies.can_withdraw(actor, version))
    version.status = VersionStatus.WITHDRAWN
    version.withdrawn_by = actor
    version.withdrawn_at = timezone.now()
    version.save(update_fields=["status", "withdrawn_by", "withdrawn_at", "updated_at"])
    _log(
        version,
        actor,
        VersionEvent.Verb.WITHDRAWN,
        f"Withdrew v{version.number}" + (f": {reason.strip()[:200]}" if reason.strip() else "."),
    )
    return version


@transaction.atomic
def version_approve(*, actor: User, version: ProfileVersion) -> ProfileVersion:
    """Make a version the live one.

    Locks the profile so two approvals cannot interleave, checks every rule
    (policies.can_approve and version_approval_problems), supersedes the
    previous approved version and sends `version_approved` in the same
    transaction.
    """
    Profile.objects.select_for_update().get(pk=version.profile_id)
    version = ProfileVersion.objects.select_related("profile").get(pk=version.pk)
    _require(policies.can_approve(actor, version))
    problems = version_approval_problems(version=version)
    if problems:
        raise ValidationError(problems, code="not_ready")
    now = timezone.now()
    previous = ProfileVersion.objects.filter(
        profile_id=version.profile_id, status=VersionStatus.APPROVED
    ).first()
    if previous is not None:
        previous.status = VersionStatus.SUPERSEDED
        previous.superseded_at = now
        previous.save(update_fields=["status", "superseded_at", "updated_at"])
        _log(previous, actor, VersionEvent.Verb.SUPERSEDED, f"Superseded by v{version.number}.")
    version.status = VersionStatus.APPROVED
    version.approved_by = actor
    version.approved_at = now
    version.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    _log(version, actor, VersionEvent.Verb.APPROVED, f"Approved v{version.number}; it is now live.")
    version_approved.send(sender=ProfileVersion, version=version, previous=previous, actor=actor)
    return version
