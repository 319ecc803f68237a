"""Writes for My work and notifications: recording what happened for the
people it concerns, emailing it, marking it read, each person's choices.

An event is recorded inside the transaction of the write that made it, so
it exists exactly when that write does: a write rolled back records and
sends nothing. The emails due at once are handed to a task on commit
(`reviews.email_notifications`, on the default queue); each is claimed by a
conditional UPDATE before it is sent, so a retried or repeated task, or the
sweep on beat that sends what a down broker never took, sends none twice.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from icpsite.celery import task_send
from profiles.models import (
    Membership,
    ProfileVersion,
    SignOff,
    SignOffDecision,
    Team,
    User,
    VersionStatus,
)
from reviews.models import (
    CheckIn,
    MyWorkCheckpoint,
    Notification,
    NotificationDelivery,
    NotificationKind,
    NotificationPreference,
    Override,
    OverrideStatus,
)
from reviews.mywork.selectors import (
    checkin_closers,
    delivery_choices,
    override_deciders,
    version_participants,
)

logger = logging.getLogger(__name__)

# The sweep on beat emails what the on-commit send did not (a broker that
# was down), once it is this old, and gives up on it after a day.
EMAIL_SWEEP_AFTER = timedelta(minutes=1)
EMAIL_GIVE_UP_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Notice:
    """What one person is told about an event."""

    user: User
    title: str
    detail: str = ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _name(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user else "Someone"


def _and(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def notify(
    *, kind: str, key: str, path: str, notices: Iterable[Notice], actor: User | None = None
) -> int:
    """Record the event for each person (never the actor, never an inactive
    account), once per person even if the event is recorded again, and email
    the people who want it at once after commit. Returns how many were told."""
    by_user = {
        n.user.pk: n
        for n in notices
        if n.user.is_active and (actor is None or n.user.pk != actor.pk)
    }
    if not by_user:
        return 0
    delivery = delivery_choices(users=[n.user for n in by_user.values()], kind=kind)
    Notification.objects.bulk_create(
        [
            Notification(
                user=notice.user,
                kind=kind,
                key=key,
                title=_one_line(notice.title)[:300],
                detail=notice.detail,
                path=path,
                actor=actor,
                delivery=delivery[pk],
            )
            for pk, notice in by_user.items()
        ],
        ignore_conflicts=True,
    )
    due = list(
        Notification.objects.filter(
            kind=kind,
            key=key,
            user_id__in=list(by_user),
            delivery=NotificationDelivery.IMMEDIATELY,
            emailed_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    if due:
        transaction.on_commit(partial(_send_after_commit, due))
    return len(by_user)


def _send_after_commit(ids: list[int]) -> None:
    from reviews.tasks import email_notifications_task

    task_send(email_notifications_task, ids)


def _version_path(version: ProfileVersion, anchor: str = "") -> str:
    url = reverse("version-detail", kwargs={"slug": version.profile.slug, "number": version.number})
    return url + anchor


def _by_person(memberships: Iterable[Membership]) -> dict[int, tuple[User, list[Team]]]:
    people: dict[int, tuple[User, list[Team]]] = {}
    for membership in memberships:
        people.setdefault(membership.user_id, (membership.user, []))[1].append(membership.team)
    return people


def _members(team_ids: Iterable[int]) -> dict[int, tuple[User, list[Team]]]:
    """Active members of the teams, each with the ones of those teams they are in."""
    return _by_person(
        Membership.objects.filter(team_id__in=list(team_ids), user__is_active=True)
        .select_related("user", "team")
        .order_by("team__name")
    )


# --- The events -------------------------------------------------------------------


def notify_version_submitted(*, version: ProfileVersion, actor: User | None) -> int:
    """A version went to review: the members of each required team that has
    not approved its current revision may sign now."""
    approved = set(
        SignOff.objects.filter(
            version=version, revision=version.revision, decision=SignOffDecision.APPROVE
        ).values_list("team_id", flat=True)
    )
    owing = [t.pk for t in version.profile.required_teams.all() if t.pk not in approved]
    notices = [
        Notice(
            user,
            f"{version} is in review: sign off for {_and(t.name for t in teams)}",
            f"{_name(actor)} submitted it for review. Read the criteria and the discussion, "
            f"then record {_and(t.name for t in teams)}'s decision on revision "
            f"{version.revision}.",
        )
        for user, teams in _members(owing).values()
    ]
    submitted = version.submitted_at.timestamp() if version.submitted_at else 0
    return notify(
        kind=NotificationKind.VERSION_SUBMITTED,
        key=f"{version.pk}:{submitted:.6f}",
        path=_version_path(version, "#signoffs"),
        notices=notices,
        actor=actor,
    )


def notify_signoffs_stale(
    *, version: ProfileVersion, signoffs: Sequence[SignOff], actor: User | None
) -> int:
    """An edit of a version in review made these teams' sign-offs stale:
    their members may sign the new revision. (A draft is signed again
    after it is submitted, which says so itself.)"""
    if version.status != VersionStatus.IN_REVIEW:
        return 0
    required = {t.pk for t in version.profile.required_teams.all()}
    stale = {s.team_id: s for s in signoffs if s.team_id in required}
    notices = []
    for user, teams in _members(stale).values():
        names = _and(t.name for t in teams)
        revisions = _and(sorted({str(stale[t.pk].revision) for t in teams}))
        notices.append(
            Notice(
                user,
                f"Sign again: {version} changed after {names} signed it",
                f"{names} signed revision {revisions}; {_name(actor)} changed it since (now "
                f"revision {version.revision}). Approval needs {names}'s sign-off on the "
                "current revision.",
            )
        )
    return notify(
        kind=NotificationKind.SIGNOFF_STALE,
        key=f"{version.pk}:{version.revision}",
        path=_version_path(version, "#signoffs"),
        notices=notices,
        actor=actor,
    )


def notify_version_approved(*, version: ProfileVersion, actor: User | None) -> int:
    """A version went live: whoever signed it off or commented on it hears."""
    notices = [
        Notice(
            user,
            f"{version} is approved and live",
            f"{_name(actor)} approved revision {version.revision}. Every account is being "
            f"rescored against it; {version.profile.name}'s page shows the run.",
        )
        for user in version_participants(version=version)
    ]
    return notify(
        kind=NotificationKind.VERSION_APPROVED,
        key=str(version.pk),
        path=_version_path(version),
        notices=notices,
        actor=actor,
    )


def _claim_words(override: Override) -> str:
    return (
        f"{override.account.name} from {override.machine_tier or 'unscored'} to "
        f"{override.get_claimed_tier_display()} ({override.get_reason_display().lower()})"
    )


def notify_override_waiting(*, override: Override, actor: User | None) -> int:
    """A claim was logged: the people who may decide it hear."""
    detail = f"Claimed by {override.attribution} ({override.team.name}) in {override.profile}."
    if override.note:
        detail += f" Note: {override.note}"
    notices = [
        Notice(user, f"Your decision: {_claim_words(override)}", detail)
        for user in override_deciders(override=override)
    ]
    return notify(
        kind=NotificationKind.OVERRIDE_WAITING,
        key=str(override.pk),
        path=reverse("queue-override", kwargs={"pk": override.pk}),
        notices=notices,
        actor=actor,
    )


def notify_override_decided(*, override: Override, actor: User | None) -> int:
    """A claim was decided: the rep, and whoever logged it in their name, hear."""
    verb = "accepted" if override.status == OverrideStatus.ACCEPTED else "rejected"
    if override.status == OverrideStatus.ACCEPTED:
        detail = (
            f"{_name(actor)} accepted it: {override.account.name} is tier {override.sets_tier} "
            f"under v{override.version.number} until a newer version is approved."
        )
    else:
        detail = f"{_name(actor)} rejected it."
    if override.review_note:
        detail += f" Their note: {override.review_note}"
    notices = [Notice(override.rep, f"Your override was {verb}: {_claim_words(override)}", detail)]
    if override.logged_in_reps_name:
        notices.append(
            Notice(
                override.logged_by,
                f"The override you logged for {override.rep} was {verb}: {_claim_words(override)}",
                detail,
            )
        )
    return notify(
        kind=NotificationKind.OVERRIDE_DECIDED,
        key=str(override.pk),
        path=reverse("account-detail", kwargs={"pk": override.account_id}) + "#overrides",
        notices=notices,
        actor=actor,
    )


def notify_checkin_due(*, checkin: CheckIn) -> int:
    """A check-in opened: the people who may close it hear."""
    due = checkin.due_on
    detail = checkin.trigger_reason or (
        "Its agenda holds the overrides, outcomes and tier movement since the last check-in."
    )
    notices = [
        Notice(
            user,
            f"{checkin.profile.name}: {checkin.get_kind_display().lower()} check-in due "
            f"{due:%b} {due.day}, {due.year}",
            detail,
        )
        for user in checkin_closers(checkin=checkin)
    ]
    return notify(
        kind=NotificationKind.CHECKIN_DUE,
        key=str(checkin.pk),
        path=reverse("checkin-detail", kwargs={"pk": checkin.pk}),
        notices=notices,
    )


# --- Emails ------------------------------------------------------------------------


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _send(note: Notification) -> None:
    context = {
        "note": note,
        "person": note.user,
        "url": site_url(note.path),
        "notifications_url": site_url(reverse("notification-list")),
        "preferences_url": site_url(reverse("notification-preferences")),
    }
    send_mail(
        subject=note.title,
        message=render_to_string("reviews/email/notification.txt", context),
        from_email=None,
        recipient_list=[note.user.email],
        html_message=render_to_string("reviews/email/notification.html", context),
    )


def _email_once(note: Notification) -> bool:
    """Claim the notification's email and send it; a failed send gives the
    claim back (its transaction rolls back) for the sweep's next look."""
    try:
        with transaction.atomic():
            claimed = Notification.objects.filter(pk=note.pk, emailed_at__isnull=True).update(
                emailed_at=timezone.now()
            )
            if not claimed:
                return False
            _send(note)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning(
            "Notification %s not emailed (%s: %s); the sweep tries again.",
            note.pk,
            type(exc).__name__,
            exc,
        )
        return False
    return True


def notifications_email(*, ids: Sequence[int]) -> int:
    """Email the notifications among `ids` that are due at once and not yet
    emailed, each once. Returns how many were sent."""
    notes = (
        Notification.objects.filter(
            pk__in=list(ids), delivery=NotificationDelivery.IMMEDIATELY, emailed_at__isnull=True
        )
        .exclude(user__email="")
        .select_related("user", "actor")
        .order_by("pk")
    )
    return sum(_email_once(note) for note in notes)


def notifications_email_unsent(*, now: datetime | None = None) -> int:
    """On beat: email what was due at once but never sent (the broker did
    not take the task), from a minute old to a day old."""
    now = now or timezone.now()
    ids = Notification.objects.filter(
        delivery=NotificationDelivery.IMMEDIATELY,
        emailed_at__isnull=True,
        created_at__lt=now - EMAIL_SWEEP_AFTER,
        created_at__gte=now - EMAIL_GIVE_UP_AFTER,
    ).values_list("pk", flat=True)
    return notifications_email(ids=list(ids))


def notifications_digested(*, notifications: Sequence[Notification]) -> int:
    """Mark the notifications as emailed in the digest being sent (inside
    the digest's claim, so they go in one digest only)."""
    return Notification.objects.filter(
        pk__in=[n.pk for n in notifications], emailed_at__isnull=True
    ).update(emailed_at=timezone.now())


# --- What the person does -------------------------------------------------------------


def _signed_in(actor: User) -> None:
    if not actor.is_authenticated:
        raise PermissionDenied("Sign in first.")


def notification_read(*, actor: User, notification: Notification) -> Notification:
    """Mark one of the actor's notifications read (again: no change)."""
    _signed_in(actor)
    if notification.user_id != actor.pk:
        raise PermissionDenied("That notification is someone else's.")
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_read_all(*, actor: User, through: datetime | None = None) -> int:
    """Mark the actor's unread notifications read, up to `through` (when
    the page they read was made: later ones stay unread). Returns how many."""
    _signed_in(actor)
    now = timezone.now()
    through = min(through, now) if through else now
    return Notification.objects.filter(
        user=actor, read_at__isnull=True, created_at__lte=through
    ).update(read_at=now)


CHANGE_ANYONES_PREFERENCES = "reviews.change_notificationpreference"


def preferences_set(
    *, actor: User, choices: dict[str, str], user: User | None = None
) -> dict[str, str]:
    """Set the delivery for the kinds named, of the actor's own choices, or
    (in the admin, with the permission to change them) of `user`'s. Each bad
    kind or delivery is refused naming it, and nothing is stored."""
    _signed_in(actor)
    user = user or actor
    if user.pk != actor.pk and not actor.has_perm(CHANGE_ANYONES_PREFERENCES):
        raise PermissionDenied("Each person chooses their own notifications.")
    errors = {}
    for kind, delivery in choices.items():
        if kind not in NotificationKind.values:
            errors[kind] = "There is no such kind of notification."
        elif delivery not in NotificationDelivery.values:
            errors[kind] = "Choose at once, in the Monday digest, or no email."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for kind, delivery in choices.items():
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"delivery": delivery}
            )
    return choices


def my_work_clear(*, actor: User, through: datetime | None = None) -> MyWorkCheckpoint:
    """Clear the news on the actor's My work up to `through` (when the
    panel they read was made; news after it stays). Never moves back."""
    _signed_in(actor)
    now = timezone.now()
    seen = min(through, now) if through else now
    with transaction.atomic():
        checkpoint, created = MyWorkCheckpoint.objects.select_for_update().get_or_create(
            user=actor, defaults={"seen_at": seen}
        )
        if not created and checkpoint.seen_at < seen:
            checkpoint.seen_at = seen
            checkpoint.save(update_fields=["seen_at"])
    return checkpoint
