"""Writes that shape a version: profiles, drafts, criteria, settings.

Every edit names the revision it was based on; a stale one is refused with
StaleRevisionError, which says who changed what since.
"""

from __future__ import annotations

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
    Criterion,
    CriterionKind,
    Profile,
    ProfileVersion,
    SignOff,
    Team,
    TeamFunction,
    User,
    VersionEvent,
    VersionStatus,
)
from profiles.selectors import (
    attribute_registry,
    criterion_text,
)
from profiles.signals import signoffs_stale

STATUS_VERBS = (
    VersionEvent.Verb.SUBMITTED,
    VersionEvent.Verb.CHANGES_REQUESTED,
    VersionEvent.Verb.WITHDRAWN,
    VersionEvent.Verb.APPROVED,
    VersionEvent.Verb.SUPERSEDED,
)


class StaleRevisionError(ValidationError):
    """The version moved on after the person loaded it: edited since their
    revision, or moved to a status the operation cannot act on (approved,
    withdrawn, sent back to draft). Nothing of the operation was stored.

    Carries the current revision and the events since the person's revision
    (or, for a change of status, the event that made it), so they can be
    told who changed what, and nothing typed is lost. The API answers 409.
    """

    def __init__(self, version: ProfileVersion, based_on: int, *, reason: str = "") -> None:
        self.current_revision = version.revision
        self.based_on = based_on
        events = version.events.select_related("actor").order_by("created_at", "id")
        self.events = list(events.filter(revision__gt=based_on))
        if reason:
            last_move = events.filter(verb__in=STATUS_VERBS).last()
            if last_move is not None and last_move not in self.events:
                self.events.append(last_move)
        changes = "; ".join(
            f"{e.actor.get_full_name() or e.actor.username if e.actor else 'someone'} "
            f"{e.get_verb_display()}: {e.summary}"
            for e in self.events[-5:]
        )
        if reason:
            message = (
                f"{reason} It changed after you loaded it: {changes.rstrip('.') or 'moved on'}."
            )
        else:
            message = (
                f"v{version.number} changed after you loaded it (you had revision {based_on}, "
                f"it is now {version.revision}): {changes or 'edited'}. "
                "Your input is kept below; check the current state and save again."
            )
        super().__init__(message, code="stale_revision")


def profile_lock(profile_id: int) -> None:
    """Queue behind every other writer of the profile as a whole (approval,
    a new draft, a check-in), until the transaction ends.

    FOR NO KEY UPDATE rather than FOR UPDATE: it still makes those writers
    take turns, but does not block the key-share lock that PostgreSQL's
    foreign-key checks take on the profile when a row pointing at it is
    written. With FOR UPDATE, an approval holding the profile and waiting
    for a version row deadlocked with the edit holding that row, whose
    second write to it checks its profile key.
    """
    Profile.objects.select_for_update(no_key=True).filter(pk=profile_id).first()


def version_lock(version: ProfileVersion) -> ProfileVersion:
    """The version's row, locked until the transaction ends, as it is now.

    Every write that depends on a version's status or revision (edits,
    submit, sign-off, withdraw, approve) takes this lock or claims the row
    with a conditional UPDATE, so two of them on one version run one after
    the other and the second sees what the first did. FOR NO KEY UPDATE,
    as an UPDATE takes, so rows that merely point at the version (comments,
    runs) are written without waiting (see profile_lock).
    """
    return (
        ProfileVersion.objects.select_for_update(of=("self",), no_key=True)
        .select_related("profile")
        .get(pk=version.pk)
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


def _require(
    verdict: policies.Verdict,
    version: ProfileVersion | None = None,
    based_on: int | None = None,
) -> None:
    """Refuse what the verdict refuses: a version in the wrong status is a
    conflict (the person saw it in another state, at revision `based_on`;
    StaleRevisionError), any other refusal is PermissionDenied with the
    policy's reason."""
    if verdict:
        return
    if verdict.conflict and version is not None:
        seen = version.revision if based_on is None else based_on
        raise StaleRevisionError(version, seen, reason=verdict.reason)
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
    *,
    actor: User,
    profile: Profile,
    source: ProfileVersion | None = None,
    rationale: str = "",
    empty: bool = False,
) -> ProfileVersion:
    """Open a new draft, copied from `source` (default: the approved version),
    or empty when `empty` is set or nothing is approved yet.

    A profile has at most one open version; copied criteria keep their lineage.
    """
    profile_lock(profile.pk)
    open_version = profile.versions.filter(status__in=OPEN_STATUSES).first()
    _require(policies.can_start_draft(actor, open_version))
    if empty and source is not None:
        raise ValidationError({"source": "Copy a version or start empty, not both."})
    if source is None and not empty:
        source = profile.versions.filter(status=VersionStatus.APPROVED).first()
    elif source is not None and source.profile_id != profile.pk:
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
    win and neither is silently overwritten. The sign-offs given on the
    revision it leaves behind go stale here, and `signoffs_stale` says so.
    """
    _require(policies.can_edit(actor, version), version, revision)
    claimed = ProfileVersion.objects.filter(
        pk=version.pk, revision=revision, status__in=OPEN_STATUSES
    ).update(revision=F("revision") + 1, updated_at=timezone.now())
    version.refresh_from_db()
    if claimed != 1:
        _require(policies.can_edit(actor, version), version, revision)
        raise StaleRevisionError(version, revision)
    stale = list(SignOff.objects.filter(version=version, revision=revision).select_related("team"))
    if stale:
        signoffs_stale.send(sender=ProfileVersion, version=version, signoffs=stale, actor=actor)


POINTS_RULE = "Points must be a whole number from 0 to 100."


def _whole_points(points: Any) -> int | None:
    """Points as a whole number from 0 to 100 (an int, or text holding
    one); None for anything else, True and False included."""
    if isinstance(points, bool):
        return None
    try:
        whole = int(points)
    except (TypeError, ValueError):
        return None
    if str(whole) != str(points).strip() or not 0 <= whole <= 100:
        return None
    return whole


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
    points_int = _whole_points(points)
    if points_int is None:
        errors["points"] = POINTS_RULE
        points_int = 0
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
    current = ProfileVersion.objects.get(pk=version.pk)
    if (current.rationale, current.threshold_a, current.threshold_b) == (rationale.strip(), a, b):
        # Nothing changes, so nothing is claimed: sign-offs stay fresh.
        _require(policies.can_edit(actor, current), current, revision)
        if current.revision != revision:
            raise StaleRevisionError(current, revision)
        return current
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
    changed = [
        f"tier {k[-1].upper()} from {before[k]} to {after[k]}" if k != "rationale" else "rationale"
        for k in after
        if before[k] != after[k]
    ]
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
