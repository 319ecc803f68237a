"""Every read in reviews: overrides, check-ins and a manager's review queue.

Long lists are querysets with their joins applied, so a page of them costs
the same few queries whatever its size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, overload

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from icpsite.numbers import counted
from profiles.models import Membership, Profile, ProfileVersion, SignOffDecision, Team, User
from profiles.policies import MANAGING_ROLES
from reviews import sql
from reviews.models import CheckIn, Override, OverrideStatus, ReviewCheckpoint, ReviewMark
from reviews.policies import managed_team_ids
from scoring.models import AccountScore, Deal, DealState, ScoringRun
from scoring.sql import fetchall

logger = logging.getLogger(__name__)


def override_list(
    *,
    profile: Profile | None = None,
    status: str | None = None,
    account_id: int | None = None,
) -> QuerySet[Override]:
    """Overrides, newest first; everyone signed in reads them (they are the
    evidence behind the next revision)."""
    overrides = Override.objects.select_related(
        "account", "profile", "version", "rep", "logged_by", "team", "reviewed_by", "criterion"
    )
    if profile is not None:
        overrides = overrides.filter(profile=profile)
    if status:
        overrides = overrides.filter(status=status)
    if account_id is not None:
        overrides = overrides.filter(account_id=account_id)
    return overrides.order_by("-created_at", "-id")


def override_get(*, pk: int) -> Override:
    return override_list().get(pk=pk)


def checkin_list(*, profile: Profile | None = None) -> QuerySet[CheckIn]:
    """Check-ins, open ones first by due date, then closed ones newest first."""
    checkins = CheckIn.objects.select_related("profile", "draft", "closed_by")
    if profile is not None:
        checkins = checkins.filter(profile=profile)
    return checkins.annotate(
        closed=Case(When(outcome="", then=Value(0)), default=Value(1))
    ).order_by("closed", "due_on", "-id")


def checkin_get(*, pk: int) -> CheckIn:
    return CheckIn.objects.select_related("profile", "draft__profile", "closed_by").get(pk=pk)


def checkins_for_draft(*, version: ProfileVersion) -> QuerySet[CheckIn]:
    return CheckIn.objects.filter(draft=version).order_by("-closed_at")


# --- The review queue ---------------------------------------------------------


def queue_viewers() -> QuerySet[User]:
    """People with a review queue: team managers and admins, profile admins."""
    return (
        User.objects.filter(
            Q(memberships__role__in=MANAGING_ROLES) | Q(administered_profiles__isnull=False),
            is_active=True,
        )
        .exclude(email="")
        .distinct()
        .order_by("username")
    )


def is_reviewer(user: User) -> bool:
    return bool(managed_team_ids(user)) or Profile.objects.filter(admins=user).exists()


@dataclass(frozen=True)
class DraftWaiting:
    version: ProfileVersion
    teams: list[Team]
    reviewed: bool


@dataclass(frozen=True)
class Move:
    profile: Profile
    run: ScoringRun
    account_id: int
    name: str
    old_tier: str
    new_tier: str
    old_score: int
    new_score: int


@dataclass
class Queue:
    viewer: User
    checkpoint: datetime | None
    include_reviewed: bool
    overrides: QuerySet[Override]
    drafts: list[DraftWaiting]
    checkins: QuerySet[CheckIn]
    moves: list[Move]
    moves_runs_reviewed: set[int]
    surprises: Surprises
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, section: str) -> int:
        if section not in self.counts:
            if section == "overrides":
                self.counts[section] = self.overrides.count()
            elif section == "surprises":
                self.counts[section] = self.surprises.count()
            elif section == "checkins":
                self.counts[section] = self.checkins.count()
        return self.counts[section]

    @property
    def has_items(self) -> bool:
        return bool(
            self.count("overrides")
            or self.drafts
            or self.count("checkins")
            or self.count("surprises")
        )

    @property
    def headline(self) -> str:
        parts = [
            (self.count("overrides"), "pending override", "pending overrides"),
            (len(self.drafts), "draft waiting for sign-off", "drafts waiting for sign-off"),
            (self.count("checkins"), "check-in due", "check-ins due"),
            (self.count("surprises"), "surprise", "surprises"),
        ]
        said = [counted(n, one, many) for n, one, many in parts if n]
        return ", ".join(said) or "nothing waiting"

    def is_new(self, at: datetime | None) -> bool:
        return at is not None and (self.checkpoint is None or at > self.checkpoint)


def _marked(viewer: User, kind: str, object_ref: Any, occurred: Any = None) -> Exists:
    marks = ReviewMark.objects.filter(user=viewer, kind=kind, object_id=object_ref)
    if occurred is None:
        marks = marks.filter(occurred_at__isnull=True)
    else:
        marks = marks.filter(occurred_at=occurred)
    return Exists(marks)


def queue_overrides(*, viewer: User) -> QuerySet[Override]:
    """Pending overrides the viewer may review, oldest first: never those
    in their name or logged by them."""
    teams = managed_team_ids(viewer)
    return (
        Override.objects.filter(status=OverrideStatus.PENDING)
        .filter(Q(team_id__in=teams) | Q(profile__admins=viewer))
        .exclude(rep=viewer)
        .exclude(logged_by=viewer)
        .select_related("account", "profile", "version", "rep", "logged_by", "team")
        .annotate(reviewed=_marked(viewer, ReviewMark.Kind.OVERRIDE, OuterRef("pk")))
        .distinct()
        .order_by("created_at", "id")
    )


def _surprise_marks(viewer: User, object_field: str, occurred_field: str) -> Exists:
    return Exists(
        ReviewMark.objects.filter(
            user=viewer,
            kind=OuterRef("s_kind"),
            object_id=OuterRef(object_field),
            occurred_at=OuterRef(occurred_field),
        )
    )


@dataclass(frozen=True)
class Surprise:
    """An outcome the live tier did not predict. `object_id` is what a review
    mark names: the deal, or the account for churn."""

    kind: str
    object_id: int
    account_id: int
    account_name: str
    external_id: str
    deal: str | None
    amount: Decimal | None
    currency: str | None
    profile_name: str
    profile_slug: str
    tier: str
    occurred_at: datetime
    reviewed: bool


SURPRISE_FIELDS = tuple(Surprise.__dataclass_fields__)
# The columns of both halves of the surprises, in the fields' order.
SURPRISE_COLUMNS = tuple(f"s_{name}" for name in SURPRISE_FIELDS)


class Surprises:
    """The surprises as a Paginator takes them: count() and slices, each
    slice one query."""

    def __init__(self, rows: QuerySet[Any]) -> None:
        self.rows = rows

    def count(self) -> int:
        return self.rows.count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Surprise]:
        return iter(self[:])

    @overload
    def __getitem__(self, index: int) -> Surprise: ...
    @overload
    def __getitem__(self, index: slice) -> list[Surprise]: ...
    def __getitem__(self, index: int | slice) -> Surprise | list[Surprise]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        return [self._surprise(row) for row in self.rows[index]]

    @staticmethod
    def _surprise(row: tuple[Any, ...]) -> Surprise:
        values = dict(zip(SURPRISE_FIELDS, row, strict=True))
        values["reviewed"] = bool(values["reviewed"])
        return Surprise(**values)


def queue_surprises(*, viewer: User, since: datetime, include_reviewed: bool = True) -> Surprises:
    """Outcomes the live tier did not predict, since `since`, newest first:
    each deal won by a tier C or DQ account, each deal lost by a tier A
    account (deal-level: two surprising deals of one account are two
    items), and each tier A customer that churned (account-level)."""
    # The current runs' ids as literals, so PostgreSQL reads only their
    # scores tables (it cannot tell them from a join on the runs).
    current = list(ScoringRun.objects.filter(is_current=True).values_list("pk", flat=True))
    scored = "account__scores__"
    surprising = Q(**{f"{scored}run_id__in": current}) & (
        Q(status=DealState.WON, **{f"{scored}tier__in": ["C", "DQ"]})
        | Q(status=DealState.LOST, **{f"{scored}tier": "A"})
    )
    # One filter() call, so the conditions and the columns below share one
    # join to the scores: a row per surprising deal and current run.
    deals = (
        Deal.objects.filter(
            surprising, status__in=[DealState.WON, DealState.LOST], closed_at__gte=since
        )
        .order_by()
        .annotate(
            s_kind=F("status"),
            s_object_id=F("pk"),
            s_account_id=F("account_id"),
            s_account_name=F("account__name"),
            s_external_id=F("account__external_id"),
            s_deal=F("external_id"),
            s_amount=F("amount"),
            s_currency=F("currency"),
            s_profile_name=F(f"{scored}run__profile__name"),
            s_profile_slug=F(f"{scored}run__profile__slug"),
            s_tier=F(f"{scored}tier"),
            s_occurred_at=F("closed_at"),
        )
        .annotate(s_reviewed=_surprise_marks(viewer, "pk", "closed_at"))
    )
    churned = (
        AccountScore.objects.filter(run_id__in=current, tier="A", account__churned_at__gte=since)
        .order_by()
        .annotate(
            s_kind=Value(ReviewMark.Kind.CHURNED.value, output_field=CharField()),
            s_object_id=F("account_id"),
            s_account_id=F("account_id"),
            s_account_name=F("account__name"),
            s_external_id=F("account__external_id"),
            s_deal=Value(None, output_field=CharField()),
            s_amount=Value(None, output_field=DecimalField()),
            s_currency=Value(None, output_field=CharField()),
            s_profile_name=F("run__profile__name"),
            s_profile_slug=F("run__profile__slug"),
            s_tier=F("tier"),
            s_occurred_at=F("account__churned_at"),
        )
        .annotate(s_reviewed=_surprise_marks(viewer, "account_id", "account__churned_at"))
    )
    if not include_reviewed:
        deals = deals.filter(s_reviewed=False)
        churned = churned.filter(s_reviewed=False)
    rows = (
        deals.values_list(*SURPRISE_COLUMNS)
        .union(churned.values_list(*SURPRISE_COLUMNS), all=True)
        .order_by("-s_occurred_at", "s_account_id", "s_object_id")
    )
    return Surprises(rows)


def _drafts_waiting(viewer: User) -> list[DraftWaiting]:
    teams = managed_team_ids(viewer)
    versions = (
        ProfileVersion.objects.filter(status="in_review", profile__required_teams__in=teams)
        .select_related("profile")
        .prefetch_related("signoffs", "profile__required_teams")
        .annotate(reviewed=_marked(viewer, ReviewMark.Kind.DRAFT, OuterRef("pk")))
        .distinct()
        .order_by("submitted_at", "id")
    )
    waiting = []
    for version in versions:
        fresh = {
            s.team_id
            for s in version.signoffs.all()
            if s.revision == version.revision and s.decision == SignOffDecision.APPROVE
        }
        missing = [
            t for t in version.profile.required_teams.all() if t.pk in teams and t.pk not in fresh
        ]
        if missing:
            waiting.append(DraftWaiting(version, missing, bool(version.reviewed)))
    return waiting


def queue_checkins(*, viewer: User, today: Any = None) -> QuerySet[CheckIn]:
    """Open check-ins due within the lead time (or overdue) of profiles the
    viewer helps decide."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=settings.REVIEWS_CHECKIN_LEAD_DAYS)
    teams = managed_team_ids(viewer)
    return (
        CheckIn.objects.filter(outcome="", due_on__lte=horizon)
        .filter(
            Q(profile__required_teams__in=teams)
            | Q(profile__approving_teams__in=teams)
            | Q(profile__admins=viewer)
        )
        .select_related("profile")
        .annotate(reviewed=_marked(viewer, ReviewMark.Kind.CHECKIN, OuterRef("pk")))
        .distinct()
        .order_by("due_on", "id")
    )


MOVES_CACHE_SECONDS = 7 * 24 * 3600


def _moves(run_id: int, previous_id: int, limit: int) -> list[tuple[Any, ...]]:
    return fetchall(sql.largest_moves(run_id, previous_id, limit))


def _cache_get(key: str) -> Any:
    """The cached value, or None when absent or the cache does not answer:
    worked-out figures are then worked out again, and the page still shows."""
    try:
        return cache.get(key)
    except Exception as exc:  # a cache outage must not take the page down
        logger.warning("Cache not read (%s: %s); working the figures out", type(exc).__name__, exc)
        return None


def _cache_set(key: str, value: Any, seconds: int) -> None:
    try:
        cache.set(key, value, seconds)
    except Exception as exc:  # a cache outage must not take the page down
        logger.warning("Cache not written (%s: %s)", type(exc).__name__, exc)


def largest_moves(*, limit: int | None = None) -> list[Move]:
    """The accounts whose tier moved most in each profile's last rescoring
    (its current run against the run before it)."""
    limit = limit or settings.REVIEWS_QUEUE_TOP_MOVES
    moves: list[Move] = []
    runs = ScoringRun.objects.filter(is_current=True).select_related("profile", "version")
    for run in runs:
        previous = (
            ScoringRun.objects.filter(
                profile_id=run.profile_id, status="succeeded", created_at__lt=run.created_at
            )
            .order_by("-created_at")
            .values_list("pk", flat=True)
            .first()
        )
        if previous is None:
            continue
        # A run's moves never change once it is current, and the query joins
        # two whole runs (about a second at a million accounts): work them
        # out once per run, not on every look at the queue.
        finished = run.finished_at.timestamp() if run.finished_at else 0
        key = f"reviews:moves:{run.pk}:{finished}:{previous}:{limit}"
        rows = _cache_get(key)
        if rows is None:
            rows = _moves(run.pk, previous, limit)
            _cache_set(key, rows, MOVES_CACHE_SECONDS)
        moves.extend(Move(run.profile, run, *row) for row in rows)
    return moves


def queue_get(*, viewer: User, include_reviewed: bool = False) -> Queue:
    """A manager's weekly queue. Items marked reviewed are left out unless
    `include_reviewed`; `Queue.is_new` tells what came after the last review."""
    checkpoint = (
        ReviewCheckpoint.objects.filter(user=viewer).values_list("reviewed_at", flat=True).first()
    )
    since = timezone.now() - timedelta(days=settings.REVIEWS_SURPRISE_DAYS)
    overrides = queue_overrides(viewer=viewer)
    surprises = queue_surprises(viewer=viewer, since=since, include_reviewed=include_reviewed)
    checkins = queue_checkins(viewer=viewer)
    drafts = _drafts_waiting(viewer)
    if not include_reviewed:
        overrides = overrides.filter(Q(reviewed=False))
        checkins = checkins.filter(Q(reviewed=False))
        drafts = [d for d in drafts if not d.reviewed]
    moves = largest_moves()
    runs_reviewed = set(
        ReviewMark.objects.filter(
            user=viewer, kind=ReviewMark.Kind.RUN, object_id__in={m.run.pk for m in moves}
        ).values_list("object_id", flat=True)
    )
    if not include_reviewed:
        moves = [m for m in moves if m.run.pk not in runs_reviewed]
    return Queue(
        viewer=viewer,
        checkpoint=checkpoint,
        include_reviewed=include_reviewed,
        overrides=overrides,
        drafts=drafts,
        checkins=checkins,
        moves=moves,
        moves_runs_reviewed=runs_reviewed,
        surprises=surprises,
    )


def membership_teams(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("team")
