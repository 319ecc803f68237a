"""Reads for My work and notifications.

Each section of My work is one queryset, so the panel lists it and the
navigation counts it with the same rule: `my_work_counts` counts every
section in a single statement (it shows on every page, so it costs one
query whatever the person's load, and is never cached: it changes the
moment the person acts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from profiles.models import (
    OPEN_STATUSES,
    Comment,
    Membership,
    Profile,
    ProfileVersion,
    SignOff,
    SignOffDecision,
    Team,
    User,
    VersionStatus,
)
from profiles.policies import MANAGING_ROLES
from reviews.models import (
    DEFAULT_DELIVERY,
    CheckIn,
    MyWorkCheckpoint,
    Notification,
    NotificationDelivery,
    NotificationKind,
    NotificationPreference,
    Override,
    OverrideStatus,
)
from reviews.selectors import queue_checkins, queue_overrides, queue_viewers
from scoring.models import RunStatus, ScoringRun

# News (my overrides decided, runs finished for versions I signed) older
# than this no longer shows, cleared or not.
NEWS_DAYS = 30
# Items listed per section of the panel; the count says how many in all.
SHOWN = 10

RequiredTeam: Any = Profile.required_teams.through


class Counted(Subquery):
    """How many rows a queryset holds, as a value in another query."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def _my_team_ids(viewer: User) -> QuerySet[Membership, Any]:
    return Membership.objects.filter(user=viewer).values("team_id")


def _news_floor(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=NEWS_DAYS)


# --- The sections ------------------------------------------------------------------


def signoffs_owed(*, viewer: User) -> QuerySet[Any]:
    """The (profile, team) pairs whose sign-off the viewer may give now and
    is missing: the profile has a version in review, requires the team, the
    viewer is in the team, and the team has not approved the version's
    current revision (no sign-off yet, or one on an earlier revision)."""
    in_review = ProfileVersion.objects.filter(
        profile_id=OuterRef("profile_id"), status=VersionStatus.IN_REVIEW
    )
    approved = SignOff.objects.filter(
        version__profile_id=OuterRef("profile_id"),
        version__status=VersionStatus.IN_REVIEW,
        team_id=OuterRef("team_id"),
        decision=SignOffDecision.APPROVE,
        revision=F("version__revision"),
    )
    return (
        RequiredTeam.objects.filter(team_id__in=_my_team_ids(viewer))
        .filter(Exists(in_review))
        .exclude(Exists(approved))
        .select_related("profile", "team")
        .order_by("profile__name", "team__name")
    )


def threads_open(*, viewer: User) -> QuerySet[Comment]:
    """Unresolved threads on open versions that a team of the viewer's
    started or replied in, oldest first."""
    mine = _my_team_ids(viewer)
    replied = Comment.objects.filter(parent_id=OuterRef("pk"), team_id__in=mine)
    return (
        Comment.objects.filter(
            parent__isnull=True, resolved=False, version__status__in=OPEN_STATUSES
        )
        .filter(Q(team_id__in=mine) | Exists(replied))
        .select_related("version__profile", "team", "author")
        .order_by("created_at", "id")
    )


def overrides_waiting(*, viewer: User) -> QuerySet[Override]:
    """Pending overrides the viewer may decide: the review queue's, marked
    reviewed or not (a claim still waits for its decision)."""
    return queue_overrides(viewer=viewer)


def checkins_due(*, viewer: User) -> QuerySet[CheckIn]:
    """Open check-ins the viewer may close, due within the lead time or overdue."""
    return queue_checkins(viewer=viewer)


def overrides_decided(*, viewer: User, now: datetime | None = None) -> QuerySet[Override]:
    """The viewer's own overrides (in their name, or logged by them)
    decided since they last cleared My work, newest first."""
    cleared = MyWorkCheckpoint.objects.filter(user=viewer, seen_at__gte=OuterRef("reviewed_at"))
    return (
        Override.objects.filter(Q(rep=viewer) | Q(logged_by=viewer))
        .exclude(status=OverrideStatus.PENDING)
        .filter(reviewed_at__gt=_news_floor(now))
        .exclude(Exists(cleared))
        .select_related("account", "profile", "version", "rep", "logged_by", "reviewed_by")
        .order_by("-reviewed_at", "-id")
    )


def runs_finished(*, viewer: User, now: datetime | None = None) -> QuerySet[ScoringRun]:
    """Rescoring runs finished for versions the viewer signed off, since
    they last cleared My work, newest first."""
    signed = SignOff.objects.filter(version_id=OuterRef("version_id"), user=viewer)
    cleared = MyWorkCheckpoint.objects.filter(user=viewer, seen_at__gte=OuterRef("finished_at"))
    return (
        ScoringRun.objects.filter(status=RunStatus.SUCCEEDED, finished_at__gt=_news_floor(now))
        .filter(Exists(signed))
        .exclude(Exists(cleared))
        .select_related("profile", "version")
        .order_by("-finished_at", "-id")
    )


def notifications_unread(*, viewer: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=viewer, read_at__isnull=True)


# --- The panel and the count ---------------------------------------------------------


@dataclass(frozen=True)
class WorkCounts:
    signoffs: int = 0
    threads: int = 0
    overrides: int = 0
    checkins: int = 0
    decided: int = 0
    runs: int = 0
    unread: int = 0

    @property
    def total(self) -> int:
        """Everything on My work (unread notifications are counted apart)."""
        return (
            self.signoffs + self.threads + self.overrides + self.checkins + self.decided + self.runs
        )


def _sections(viewer: User, now: datetime) -> dict[str, QuerySet[Any]]:
    return {
        "signoffs": signoffs_owed(viewer=viewer),
        "threads": threads_open(viewer=viewer),
        "overrides": overrides_waiting(viewer=viewer),
        "checkins": checkins_due(viewer=viewer),
        "decided": overrides_decided(viewer=viewer, now=now),
        "runs": runs_finished(viewer=viewer, now=now),
        "unread": notifications_unread(viewer=viewer),
    }


def my_work_counts(*, viewer: User) -> WorkCounts:
    """How many items each section of the viewer's My work holds, and their
    unread notifications, in one query."""
    if not viewer.is_authenticated:
        return WorkCounts()
    sections = _sections(viewer, timezone.now())
    counted = {
        f"count_{name}": Counted(qs.order_by().values("pk")) for name, qs in sections.items()
    }
    row = User.objects.filter(pk=viewer.pk).annotate(**counted).values(*counted).first()
    if row is None:
        return WorkCounts()
    return WorkCounts(**{name: row[f"count_{name}"] for name in sections})


@dataclass(frozen=True)
class SignOffOwed:
    """A team of the viewer's owes its sign-off on a version in review;
    `signoff` is the team's earlier one when it went stale."""

    version: ProfileVersion
    team: Team
    signoff: SignOff | None

    @property
    def stale(self) -> bool:
        return self.signoff is not None


@dataclass(frozen=True)
class MyWork:
    counts: WorkCounts
    signoffs: list[SignOffOwed]
    threads: list[Comment]
    overrides: list[Override]
    checkins: list[CheckIn]
    decided: list[Override]
    runs: list[ScoringRun]
    today: Any

    @property
    def shown(self) -> int:
        return SHOWN

    @property
    def more(self) -> dict[str, int]:
        """How many items of each section the panel does not list."""
        return {
            name: max(getattr(self.counts, name) - SHOWN, 0)
            for name in ("signoffs", "threads", "overrides", "checkins", "decided", "runs")
        }

    @property
    def news(self) -> int:
        return self.counts.decided + self.counts.runs


def _signoffs_owed_list(viewer: User) -> list[SignOffOwed]:
    pairs = list(signoffs_owed(viewer=viewer)[:SHOWN])
    versions = {
        v.profile_id: v
        for v in ProfileVersion.objects.filter(
            status=VersionStatus.IN_REVIEW, profile_id__in={p.profile_id for p in pairs}
        )
        .select_related("profile")
        .prefetch_related(Prefetch("signoffs", queryset=SignOff.objects.select_related("user")))
    }
    owed = []
    for pair in pairs:
        version = versions.get(pair.profile_id)
        if version is None:  # approved or withdrawn between the two reads
            continue
        earlier = next((s for s in version.signoffs.all() if s.team_id == pair.team_id), None)
        owed.append(SignOffOwed(version=version, team=pair.team, signoff=earlier))
    return owed


def my_work_get(*, viewer: User) -> MyWork:
    """The viewer's My work: the first SHOWN items of each section, and the
    counts of all, in a fixed number of queries."""
    now = timezone.now()
    return MyWork(
        counts=my_work_counts(viewer=viewer),
        signoffs=_signoffs_owed_list(viewer),
        threads=list(threads_open(viewer=viewer)[:SHOWN]),
        overrides=list(overrides_waiting(viewer=viewer)[:SHOWN]),
        checkins=list(checkins_due(viewer=viewer)[:SHOWN]),
        decided=list(overrides_decided(viewer=viewer, now=now)[:SHOWN]),
        runs=list(runs_finished(viewer=viewer, now=now)[:SHOWN]),
        today=timezone.localdate(),
    )


def override_queue_position(*, viewer: User, override: Override) -> int | None:
    """Where the override stands in the viewer's review queue (all items,
    reviewed ones too, oldest first), from 0; None when it is not there
    (decided, or not the viewer's to decide)."""
    waiting = overrides_waiting(viewer=viewer)
    if not waiting.filter(pk=override.pk).exists():
        return None
    return (
        waiting.filter(
            Q(created_at__lt=override.created_at)
            | Q(created_at=override.created_at, id__lt=override.pk)
        )
        .order_by()
        .values("pk")
        .count()
    )


# --- Notifications ------------------------------------------------------------------


def notification_list(*, viewer: User) -> QuerySet[Notification]:
    """The viewer's notifications, newest first."""
    return (
        Notification.objects.filter(user=viewer)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def delivery_choices(*, users: Iterable[User], kind: str) -> dict[int, str]:
    """Each user's delivery for `kind` (their choice, else the default), by user id."""
    ids = [u.pk for u in users]
    chosen = dict(
        NotificationPreference.objects.filter(user_id__in=ids, kind=kind).values_list(
            "user_id", "delivery"
        )
    )
    default = DEFAULT_DELIVERY[NotificationKind(kind)]
    return {pk: chosen.get(pk, default) for pk in ids}


def preferences_get(*, viewer: User) -> dict[str, str]:
    """The viewer's delivery for every kind, by kind."""
    chosen = dict(
        NotificationPreference.objects.filter(user=viewer).values_list("kind", "delivery")
    )
    return {kind: chosen.get(kind, DEFAULT_DELIVERY[kind]) for kind in NotificationKind}


def digest_notifications(*, user: User) -> list[Notification]:
    """The user's notifications waiting for the Monday digest, oldest first."""
    return list(
        Notification.objects.filter(
            user=user, delivery=NotificationDelivery.DIGEST, emailed_at__isnull=True
        ).order_by("created_at", "id")
    )


def digest_recipients() -> QuerySet[User]:
    """Who may get a digest: the people with a review queue, and anyone with
    notifications waiting for it."""
    waiting = Notification.objects.filter(
        user_id=OuterRef("pk"), delivery=NotificationDelivery.DIGEST, emailed_at__isnull=True
    )
    return (
        User.objects.filter(Q(pk__in=queue_viewers().order_by().values("pk")) | Exists(waiting))
        .filter(is_active=True)
        .exclude(email="")
        .order_by("username")
    )


# --- Who is told ----------------------------------------------------------------------
# The people each event concerns: the same rules as the My work sections
# above and the policies they follow, seen from the event's side.


def members_of(*, team_ids: Iterable[int]) -> QuerySet[User]:
    """Active members of the teams (any role): any of them may sign or
    comment for their team."""
    return User.objects.filter(memberships__team_id__in=list(team_ids), is_active=True).distinct()


def override_deciders(*, override: Override) -> QuerySet[User]:
    """Who may accept or reject the override (reviews.policies.can_review_override):
    managers and admins of its team and the profile's admins, never the rep
    or whoever logged it."""
    managing = Membership.objects.filter(
        user_id=OuterRef("pk"), team_id=override.team_id, role__in=MANAGING_ROLES
    )
    return (
        User.objects.filter(Exists(managing) | Q(administered_profiles=override.profile_id))
        .filter(is_active=True)
        .exclude(pk__in=[override.rep_id, override.logged_by_id])
        .distinct()
    )


def checkin_closers(*, checkin: CheckIn) -> QuerySet[User]:
    """Who may close the check-in (reviews.policies.can_close_checkin): the
    profile's approvers (its admins, managers of its approving teams) and
    the managers of the teams it requires."""
    profile = checkin.profile
    teams = {t.pk for t in profile.required_teams.all()} | {
        t.pk for t in profile.approving_teams.all()
    }
    managing = Membership.objects.filter(
        user_id=OuterRef("pk"), team_id__in=teams, role__in=MANAGING_ROLES
    )
    return (
        User.objects.filter(Exists(managing) | Q(administered_profiles=profile.pk))
        .filter(is_active=True)
        .distinct()
    )


def version_participants(*, version: ProfileVersion) -> QuerySet[User]:
    """Who signed off on the version or commented on it."""
    signed = SignOff.objects.filter(version=version, user_id=OuterRef("pk"))
    commented = Comment.objects.filter(version=version, author_id=OuterRef("pk"))
    return User.objects.filter(Exists(signed) | Exists(commented)).filter(is_active=True)
