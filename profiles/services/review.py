"""Writes that move a version through review: submit, comment, sign off,
withdraw, approve."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from profiles import policies
from profiles.models import (
    Comment,
    Criterion,
    ProfileVersion,
    SignOff,
    SignOffDecision,
    Team,
    User,
    VersionEvent,
    VersionStatus,
)
from profiles.selectors import (
    criterion_text,
    version_approval_problems,
    version_content_problems,
)
from profiles.services.versions import (
    StaleRevisionError,
    _log,
    _require,
    profile_lock,
    version_lock,
)
from profiles.signals import version_approved, version_submitted


@transaction.atomic
def version_submit(*, actor: User, version: ProfileVersion) -> ProfileVersion:
    """Send a draft to review: required teams may now sign off. A draft whose
    content could not be approved (fit points other than 100, a bad value) is
    refused listing every problem, so no team signs what cannot go live."""
    version = version_lock(version)
    _require(policies.can_submit(actor, version), version)
    problems = version_content_problems(version=version)
    if problems:
        raise ValidationError(problems, code="not_ready")
    version.status = VersionStatus.IN_REVIEW
    version.submitted_by = actor
    version.submitted_at = timezone.now()
    version.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
    _log(version, actor, VersionEvent.Verb.SUBMITTED, f"Submitted v{version.number} for review.")
    version_submitted.send(sender=ProfileVersion, version=version, actor=actor)
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
    _require(policies.can_comment(actor, team))
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
    version = version_lock(version)
    _require(policies.can_sign_off(actor, version, team), version, revision)
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
    version = version_lock(version)
    _require(policies.can_withdraw(actor, version), version)
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
def version_approve(
    *, actor: User, version: ProfileVersion, revision: int | None = None
) -> ProfileVersion:
    """Make a version the live one.

    `revision` is the revision the approver looked at (default: the one of
    the `version` they loaded). Locks the profile, so two approvals cannot
    interleave, then the version, so no edit, sign-off, request for changes
    or withdrawal lands between the checks and the status change; under
    those locks it re-reads the version and its sign-offs, checks every rule
    (policies.can_approve and version_approval_problems), supersedes the
    previous approved version and sends `version_approved` in the same
    transaction. A version that moved on since the approver loaded it is a
    StaleRevisionError, and nothing is stored.
    """
    based_on = version.revision if revision is None else revision
    profile_lock(version.profile_id)
    version = version_lock(version)
    _require(policies.can_approve(actor, version), version, based_on)
    if version.revision != based_on:
        raise StaleRevisionError(version, based_on)
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
    _log(
        version,
        actor,
        VersionEvent.Verb.APPROVED,
        f"Approved v{version.number} at revision {version.revision}; it is now live.",
    )
    version_approved.send(sender=ProfileVersion, version=version, previous=previous, actor=actor)
    return version
