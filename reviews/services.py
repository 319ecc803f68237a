"""Every write in reviews: overrides, check-ins, review marks and digests.

Services raise PermissionDenied (the actor may not) and ValidationError (the
input is wrong, naming the field); both leave the database as it was.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from icpsite.numbers import counted
from profiles import services as profile_services
from profiles.models import Criterion, Membership, Profile, Team, User
from profiles.policies import Verdict
from profiles.selectors import criterion_text
from reviews import policies
from reviews.agenda import agenda_compute, agenda_since, agenda_summary
from reviews.drift import drift_signals, live_version
from reviews.models import (
    SURPRISE_KINDS,
    CheckIn,
    CheckInKind,
    CheckInOutcome,
    ClaimedTier,
    DigestSent,
    Notification,
    Override,
    OverrideReason,
    OverrideStatus,
    ReviewCheckpoint,
    ReviewMark,
    effective_claim,
)
from reviews.mywork import services as mywork
from scoring import services as scoring_services
from scoring.models import Account, AccountScore, ScoringRun, WebhookEvent
from scoring.webhooks import webhooks_emit

logger = logging.getLogger(__name__)


def _require(verdict: Verdict) -> None:
    if not verdict:
        raise PermissionDenied(verdict.reason)


# --- Overrides ------------------------------------------------------------------


def _team_of(rep: User, team: Team | None, logged_by: User) -> Team:
    """The team whose managers review the claim: the one named, else the
    first the logger manages with the rep in it, else the rep's first."""
    memberships = Membership.objects.filter(user=rep).select_related("team")
    if team is not None:
        if not memberships.filter(team=team).exists():
            raise ValidationError({"team": f"{rep} is not a member of {team.name}."})
        return team
    if logged_by.pk != rep.pk:
        shared = memberships.filter(team_id__in=policies.managed_team_ids(logged_by))
        if (first_shared := shared.order_by("team__name").first()) is not None:
            return first_shared.team
    first = memberships.order_by("team__name").first()
    if first is None:
        raise PermissionDenied(f"{rep} is in no team, so no manager could review the override.")
    return first.team


@transaction.atomic
def override_create(
    *,
    actor: User,
    account: Account,
    profile: Profile,
    claimed_tier: str,
    reason: str,
    note: str = "",
    rep: User | None = None,
    team: Team | None = None,
    criterion: Criterion | None = None,
) -> Override:
    """Log a rep's claim that an account belongs in another tier, with the
    machine's score and tier under the live version stored beside it.

    The actor is recorded as `logged_by` beside `rep` (the actor unless
    named), so a claim made in a rep's name never passes as the rep's own
    and its logger cannot decide it. One pending override per account,
    profile and rep: a second one is refused until the first is reviewed
    (the database constraint guards it against a race)."""
    rep = rep or actor
    _require(policies.can_log_override(actor, rep, team))
    errors: dict[str, str] = {}
    if claimed_tier not in ClaimedTier.values:
        errors["claimed_tier"] = "Choose A, B, C, DQ or not a fit."
    if reason not in OverrideReason.values:
        choices = ", ".join(label.lower() for label in OverrideReason.labels)
        errors["reason"] = f"Choose a reason: {choices}."
    note = note.strip()
    if len(note) > 2000:
        errors["note"] = "Keep the note under 2,000 characters."
    if reason == OverrideReason.OTHER and not note:
        errors["note"] = "Say what the reason is when you choose other."
    live = live_version(profile)
    if live is None:
        raise ValidationError(f"{profile.name} has no live version yet, so nothing to override.")
    if criterion is not None and criterion.version_id != live.pk:
        errors["criterion"] = f"Choose a criterion of the live version v{live.number}."
    if errors:
        raise ValidationError(errors)
    run = ScoringRun.objects.filter(profile=profile, is_current=True).first()
    score = AccountScore.objects.filter(run_id=run.pk, account=account).first() if run else None
    if score is not None and effective_claim(claimed_tier) == score.tier:
        raise ValidationError(
            {"claimed_tier": f"The score already puts {account.name} in tier {score.tier}."}
        )
    open_one = Override.objects.filter(
        profile=profile, account=account, rep=rep, status=OverrideStatus.PENDING
    ).first()
    if open_one is not None:
        raise ValidationError(
            f"{rep} already has an open override on {account.name} (logged "
            f"{open_one.created_at:%b %d}); wait for the review or ask a manager to reject it."
        )
    override = Override(
        account=account,
        profile=profile,
        version=live,
        rep=rep,
        logged_by=actor,
        team=_team_of(rep, team, actor),
        machine_score=score.score if score else None,
        machine_tier=score.tier if score else "",
        claimed_tier=claimed_tier,
        reason=reason,
        criterion=criterion,
        criterion_label=criterion_text(criterion) if criterion else "",
        note=note,
    )
    try:
        with transaction.atomic():
            override.save()
    except IntegrityError:
        raise ValidationError(
            f"{rep} already has an open override on {account.name}; wait for the review."
        ) from None
    mywork.notify_override_waiting(override=override, actor=actor)
    return override


def _locked(override: Override) -> Override:
    """The override, locked, after its account's row: the order a removal or
    a merge takes them in (scoring.services), so a decision and a removal
    of its account wait for each other instead of deadlocking."""
    Account.objects.select_for_update(no_key=True).filter(pk=override.account_id).exists()
    found = (
        Override.objects.select_for_update(of=("self",))
        .select_related("profile", "team", "account", "version", "rep", "logged_by")
        .filter(pk=override.pk)
        .first()
    )
    if found is None:
        raise ValidationError(
            "This override's account was removed meanwhile, and the claim with it."
        )
    return found


def _check_pending(override: Override) -> None:
    if override.status != OverrideStatus.PENDING:
        who = override.reviewed_by or "someone"
        when = f" on {override.reviewed_at:%b %d}" if override.reviewed_at else ""
        raise ValidationError(f"This override was already {override.status} by {who}{when}.")


@transaction.atomic
def override_accept(*, actor: User, override: Override, note: str = "") -> Override:
    """Accept the claim: the account's effective tier becomes the claimed
    one ("not a fit" sets DQ) under the live version, until a newer version
    is approved. Subscribed webhooks hear of it once the decision commits.
    Neither the rep nor whoever logged the claim may accept it (pages, API
    and admin all come through here)."""
    override = _locked(override)
    _require(policies.can_review_override(actor, override))
    _check_pending(override)
    live = live_version(override.profile)
    if live is None or live.pk != override.version_id:
        now_live = f"v{live.number} is live now" if live else "no version is live now"
        raise ValidationError(
            f"This override was logged under v{override.version.number} and {now_live}; "
            "reject it, or ask the rep to log it again against the live version."
        )
    override.status = OverrideStatus.ACCEPTED
    override.reviewed_by = actor
    override.reviewed_at = timezone.now()
    override.review_note = note.strip()
    override.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    scoring_services.tier_override_set(
        profile=override.profile,
        account=override.account,
        tier=override.sets_tier,
        actor=actor,
        source=f"override:{override.pk}",
    )
    webhooks_emit(
        WebhookEvent.OVERRIDE_ACCEPTED,
        {
            "override": override.pk,
            "account": override.account.external_id,
            "profile": override.profile.slug,
            "version": override.version.number,
            "tier": override.sets_tier,
            "machine_tier": override.machine_tier,
            "reason": override.reason,
        },
    )
    mywork.notify_override_decided(override=override, actor=actor)
    return override


@transaction.atomic
def override_reject(*, actor: User, override: Override, note: str) -> Override:
    """Reject the claim, saying why, so the rep learns what the profile
    means; by the same people as accepting."""
    override = _locked(override)
    _require(policies.can_review_override(actor, override))
    _check_pending(override)
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say why you reject it, so the rep knows."})
    override.status = OverrideStatus.REJECTED
    override.reviewed_by = actor
    override.reviewed_at = timezone.now()
    override.review_note = note
    override.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    mywork.notify_override_decided(override=override, actor=actor)
    return override


def overrides_move(*, into: Account, merged: Sequence[Account]) -> int:
    """Give the survivor of a merge the claims logged on the merged
    accounts, decided or pending, so the evidence stays. One pending claim
    per account and rep holds on the survivor too: where its rep already
    has one pending on the survivor under the same profile, the survivor's
    stands and the merged account's goes; of several from merged accounts,
    the newest stays. Returns how many moved."""
    mine = [into.pk, *(account.pk for account in merged)]
    pending = Override.objects.filter(account_id__in=mine, status=OverrideStatus.PENDING)
    rows = pending.order_by("-created_at", "-pk").values_list(
        "pk", "profile_id", "rep_id", "account_id"
    )
    seen: set[tuple[int, int]] = set()
    dropped = []
    # The survivor's own first: they always stay.
    for pk, profile_id, rep_id, _ in sorted(rows, key=lambda row: row[3] != into.pk):
        if (profile_id, rep_id) in seen:
            dropped.append(pk)
        seen.add((profile_id, rep_id))
    Override.objects.filter(pk__in=dropped).delete()
    return Override.objects.filter(account__in=list(merged)).update(account=into)


def overrides_on_merge(*, into: Account, merged: Sequence[Account], **_: Any) -> None:
    """Receiver of scoring.signals.accounts_merging."""
    overrides_move(into=into, merged=merged)


# --- Check-ins -----------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def checkins_schedule(*, today: date | None = None) -> list[CheckIn]:
    """Create each profile's next scheduled check-in once it is within
    REVIEWS_CHECKIN_LEAD_DAYS of its due date.

    The next due date is the cadence after the last scheduled check-in, or
    after the live version's approval. Running it twice creates nothing more.
    """
    today = today or timezone.localdate()
    lead = timedelta(days=settings.REVIEWS_CHECKIN_LEAD_DAYS)
    profiles = Profile.objects.filter(versions__status="approved").annotate(
        last_due=Max("checkins__due_on", filter=Q(checkins__kind=CheckInKind.SCHEDULED)),
        live_approved_at=Max("versions__approved_at", filter=Q(versions__status="approved")),
    )
    created = []
    for profile in profiles:
        start = profile.last_due or timezone.localdate(profile.live_approved_at)
        due = add_months(start, profile.checkin_cadence)
        if due - lead > today:
            continue
        checkin = checkin_open(profile=profile, kind=CheckInKind.SCHEDULED, due_on=due)
        if checkin is not None:
            created.append(checkin)
    return created


@transaction.atomic
def checkin_open(
    *,
    profile: Profile,
    kind: str,
    due_on: date,
    trigger: str = "",
    reason: str = "",
    figures: dict[str, Any] | None = None,
) -> CheckIn | None:
    """Create a check-in, or None if the same one exists. An off-cycle one
    keeps the figures its drift check measured (`figures`); the agenda is
    worked out whenever the check-in is shown, until it is held."""
    profile_services.profile_lock(profile.pk)
    live = live_version(profile)
    if live is None:
        return None
    existing = CheckIn.objects.filter(profile=profile, kind=kind)
    if kind == CheckInKind.SCHEDULED and existing.filter(due_on=due_on).exists():
        return None
    if kind == CheckInKind.OFF_CYCLE and existing.filter(trigger=trigger, outcome="").exists():
        return None
    checkin = CheckIn.objects.create(
        profile=profile,
        kind=kind,
        due_on=due_on,
        trigger=trigger,
        trigger_reason=reason[:300],
        trigger_figures=figures or {},
    )
    mywork.notify_checkin_due(checkin=checkin)
    return checkin


def checkins_open_for_drift(*, now: datetime | None = None) -> list[CheckIn]:
    """Open an off-cycle check-in for each drift check that fires, unless one
    for the same check is still open."""
    now = now or timezone.now()
    created = []
    runs = ScoringRun.objects.filter(is_current=True).select_related("profile")
    for run in runs:
        for signal in drift_signals(run=run, now=now):
            if not signal.fired:
                continue
            checkin = checkin_open(
                profile=run.profile,
                kind=CheckInKind.OFF_CYCLE,
                due_on=timezone.localdate(now),
                trigger=signal.code,
                reason=signal.reason,
                figures={**signal.figures, "measured_at": now.isoformat()},
            )
            if checkin is not None:
                logger.info("Drift opened check-in %s: %s", checkin.pk, signal.reason)
                created.append(checkin)
    return created


@transaction.atomic
def checkin_close(
    *,
    actor: User,
    checkin: CheckIn,
    outcome: str,
    note: str = "",
    now: datetime | None = None,
) -> CheckIn:
    """Hold a check-in: no change (a note says why), or start a revision,
    which opens a draft from the live version linked to the check-in, its
    rationale carrying the check-in's evidence. The agenda of this moment
    (`now`, the clock's unless a history is being recorded) is stored, and
    shown from then on instead of a live one. Holds the profile, as opening
    a check-in does: the period starts where the last held one ended, so two
    of a profile's check-ins held at once take turns."""
    profile_services.profile_lock(checkin.profile_id)
    checkin = (
        CheckIn.objects.select_for_update(of=("self",)).select_related("profile").get(pk=checkin.pk)
    )
    _require(policies.can_close_checkin(actor, checkin.profile))
    if not checkin.is_open:
        raise ValidationError(
            f"This check-in was closed on {checkin.closed_at:%b %d} "
            f"({checkin.get_outcome_display().lower()})."
        )
    note = note.strip()
    if outcome not in (CheckInOutcome.NO_CHANGE, CheckInOutcome.START_REVISION):
        raise ValidationError({"outcome": "Choose no change or start a revision."})
    if outcome == CheckInOutcome.NO_CHANGE and not note:
        raise ValidationError({"note": "Say why the profile stays as it is."})
    now = now or timezone.now()
    checkin.since = agenda_since(checkin=checkin)
    checkin.agenda = agenda_compute(profile=checkin.profile, since=checkin.since, now=now)
    checkin.agenda_at = now
    if outcome == CheckInOutcome.START_REVISION:
        rationale = (
            f"From the {checkin.get_kind_display().lower()} check-in due {checkin.due_on:%b %d, %Y}"
            + (f" ({checkin.trigger_reason})" if checkin.trigger_reason else "")
            + f": {agenda_summary(checkin.agenda)}"
            + (f"\n\n{note}" if note else "")
        )
        checkin.draft = profile_services.version_start_draft(
            actor=actor, profile=checkin.profile, rationale=rationale
        )
    checkin.outcome = outcome
    checkin.outcome_note = note
    checkin.closed_by = actor
    checkin.closed_at = now
    checkin.save()
    return checkin


# --- The review queue -------------------------------------------------------------


def review_mark(
    *, actor: User, kind: str, object_id: int, occurred_at: datetime | None = None
) -> ReviewMark:
    """Mark a queue item reviewed; marking it again changes nothing."""
    if not actor.is_authenticated:
        raise PermissionDenied("Sign in first.")
    if kind not in ReviewMark.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(ReviewMark.Kind.values)}."})
    mark, _ = ReviewMark.objects.get_or_create(
        user=actor, kind=kind, object_id=object_id, occurred_at=occurred_at
    )
    return mark


def review_mark_surprises(
    *, actor: User, kind: str, account_id: int | None = None, through: datetime | None = None
) -> int:
    """Mark reviewed at once every surprise of one kind in the queue (of one
    account, with `account_id`) that happened by `through`: what the
    manager saw, not what arrived after the page was drawn. Marking again
    changes nothing. Returns how many were newly marked."""
    from reviews.selectors import surprise_outcomes_to_mark

    if not actor.is_authenticated:
        raise PermissionDenied("Sign in first.")
    if kind not in SURPRISE_KINDS:
        raise ValidationError({"kind": f"Choose one of {', '.join(SURPRISE_KINDS)}."})
    outcomes = surprise_outcomes_to_mark(
        viewer=actor, kind=kind, account_id=account_id, through=through or timezone.now()
    )
    marks = [
        ReviewMark(user=actor, kind=kind, object_id=object_id, occurred_at=occurred_at)
        for object_id, occurred_at in outcomes
    ]
    # Counted among these outcomes only, not all the person's marks of the kind.
    among = ReviewMark.objects.filter(
        user=actor, kind=kind, object_id__in=[object_id for object_id, _ in outcomes]
    )
    with transaction.atomic():
        before = among.count()
        ReviewMark.objects.bulk_create(marks, ignore_conflicts=True)
        return among.count() - before


def review_unmark(
    *, actor: User, kind: str, object_id: int, occurred_at: datetime | None = None
) -> None:
    ReviewMark.objects.filter(
        user=actor, kind=kind, object_id=object_id, occurred_at=occurred_at
    ).delete()


def review_checkpoint_set(*, actor: User, at: datetime | None = None) -> ReviewCheckpoint:
    """Record that the manager finished a review: later items show as new."""
    if not actor.is_authenticated:
        raise PermissionDenied("Sign in first.")
    checkpoint, _ = ReviewCheckpoint.objects.update_or_create(
        user=actor, defaults={"reviewed_at": at or timezone.now()}
    )
    return checkpoint


def digests_send(*, today: date | None = None) -> int:
    """Mail each person their Monday digest: a manager's review queue, and
    the notifications anyone chose to get in the digest (each in one digest
    only).

    Each digest is claimed (one per person and week) before it is sent, so
    a repeated task sends none twice. Returns how many were sent."""
    from reviews.mywork.selectors import digest_notifications, digest_recipients
    from reviews.selectors import queue_get, queue_viewers

    today = today or timezone.localdate()
    week_of = today - timedelta(days=today.weekday())
    reviewers = set(queue_viewers().values_list("pk", flat=True))
    sent = 0
    for person in digest_recipients():
        queue = queue_get(viewer=person) if person.pk in reviewers else None
        if queue is not None and not queue.has_items:
            queue = None
        notes = digest_notifications(user=person)
        if queue is None and not notes:
            continue
        try:
            with transaction.atomic():
                DigestSent.objects.create(user=person, week_of=week_of)
                mywork.notifications_digested(notifications=notes)
        except IntegrityError:
            continue
        _digest_mail(person, week_of, queue, notes)
        sent += 1
    return sent


def _digest_mail(person: User, week_of: date, queue: Any, notes: list[Notification]) -> None:
    said = counted(len(notes), "notification")
    if queue is not None:
        subject = f"Your review queue for the week of {week_of:%b %d}: {queue.headline}"
        if notes:
            subject += f"; {said}"
    else:
        subject = f"Your icpsite digest for the week of {week_of:%b %d}: {said}"
    context = {
        "manager": person,
        "queue": queue,
        "notifications": notes,
        "week_of": week_of,
        "site_url": settings.SITE_URL.rstrip("/"),
        "queue_url": mywork.site_url(reverse("review-queue")),
        "notifications_url": mywork.site_url(reverse("notification-list")),
        "preferences_url": mywork.site_url(reverse("notification-preferences")),
    }
    send_mail(
        subject=subject,
        message=render_to_string("reviews/email/digest.txt", context),
        from_email=None,
        recipient_list=[person.email],
        html_message=render_to_string("reviews/email/digest.html", context),
    )
