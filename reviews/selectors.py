"""Every read in reviews: overrides, check-ins and a manager's review queue.

Long lists are querysets with their joins applied, so a page of them costs
the same few queries whatever its size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, overload

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from icpsite.cached import cache_get, cache_set
from icpsite.numbers import average, count, counted
from profiles.models import Membership, Profile, ProfileVersion, SignOffDecision, Team, User
from profiles.policies import MANAGING_ROLES
from reviews import sql
from reviews.models import (
    SURPRISE_KINDS,
    CheckIn,
    Override,
    OverrideStatus,
    ReviewCheckpoint,
    ReviewMark,
)
from reviews.policies import managed_team_ids
from scoring.models import AccountScore, Deal, DealState, ScoringRun
from scoring.sql import fetchall


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
                self.counts[section] = self.surprises.outcomes()
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


def _surprise_marks(viewer: User | None, object_field: str, occurred_field: str) -> Exists:
    """The viewer's mark on a surprise; anyone's when there is no viewer."""
    marks = ReviewMark.objects.filter(
        kind=OuterRef("s_kind"),
        object_id=OuterRef(object_field),
        occurred_at=OuterRef(occurred_field),
    )
    return Exists(marks if viewer is None else marks.filter(user=viewer))


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
    slice one query, a row per outcome and profile it surprised;
    outcomes() counts each deal or churn once, whatever the profiles."""

    def __init__(
        self, rows: Callable[[], QuerySet[Any]], outcomes: Callable[[], QuerySet[Any]]
    ) -> None:
        self._rows = rows
        self._outcomes = outcomes

    def outcomes(self) -> int:
        return self._outcomes().count()

    @cached_property
    def rows(self) -> QuerySet[Any]:
        return self._rows()

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
        return [self.surprise(row) for row in self.rows[index]]

    @staticmethod
    def surprise(row: tuple[Any, ...]) -> Surprise:
        values = dict(zip(SURPRISE_FIELDS, row, strict=True))
        values["reviewed"] = bool(values["reviewed"])
        return Surprise(**values)


def current_run_ids(profile: Profile | None = None) -> list[int]:
    """The current runs' ids (of every profile, or one's), written into the
    surprises' SQL as literals so PostgreSQL reads only their scores tables
    (it cannot tell them from a join on the runs)."""
    runs = ScoringRun.objects.filter(is_current=True)
    if profile is not None:
        runs = runs.filter(profile=profile)
    return list(runs.values_list("pk", flat=True))


def _surprise_halves(
    viewer: User | None,
    since: datetime,
    include_reviewed: bool,
    *,
    current: list[int] | None = None,
    kinds: tuple[str, ...] = SURPRISE_KINDS,
    account_id: int | None = None,
    account_ids: list[int] | None = None,
    through: datetime | None = None,
) -> list[QuerySet[Any]]:
    """The surprising deals and churns as querysets with the s_ columns,
    one row per outcome and current run that found it surprising, from
    `since` to `through` (now by default: a deal dated ahead, a CRM's
    slip, is not a surprise yet, as the kinds' weekly counts agree)."""
    if current is None:
        current = current_run_ids()
    if through is None:
        through = timezone.now()
    scored = "account__scores__"
    surprising = Q(**{f"{scored}run_id__in": current}) & (
        Q(status=DealState.WON, **{f"{scored}tier__in": ["C", "DQ"]})
        | Q(status=DealState.LOST, **{f"{scored}tier": "A"})
    )
    statuses = [k for k in kinds if k in (DealState.WON, DealState.LOST)]
    among = Q()
    if account_id is not None:
        among &= Q(account_id=account_id)
    if account_ids is not None:
        among &= Q(account_id__in=account_ids)
    halves: list[QuerySet[Any]] = []
    if statuses:
        # One filter() call, so the conditions and the columns below share
        # one join to the scores: a row per surprising deal and current run.
        happened = Q(closed_at__gte=since, closed_at__lte=through)
        deals = (
            Deal.objects.filter(surprising & among & happened, status__in=statuses)
            .order_by()
            .annotate(
                s_kind=F("status"),
                s_rank=Case(
                    When(status=DealState.WON, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                ),
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
        halves.append(deals)
    if ReviewMark.Kind.CHURNED in kinds:
        churned_since = Q(account__churned_at__gte=since, account__churned_at__lte=through)
        churned = (
            AccountScore.objects.filter(churned_since, run_id__in=current, tier="A")
            .filter(among)
            .order_by()
            .annotate(
                s_kind=Value(ReviewMark.Kind.CHURNED.value, output_field=CharField()),
                s_rank=Value(2, output_field=IntegerField()),
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
        halves.append(churned)
    if not include_reviewed:
        halves = [half.filter(s_reviewed=False) for half in halves]
    return halves


def _union(halves: list[QuerySet[Any]]) -> QuerySet[Any]:
    first, *rest = halves
    return first.union(*rest, all=True) if rest else first


def queue_surprises(
    *,
    viewer: User | None,
    since: datetime,
    include_reviewed: bool = True,
    profile: Profile | None = None,
) -> Surprises:
    """Outcomes the live tier did not predict, since `since`, newest first:
    each deal won by a tier C or DQ account, each deal lost by a tier A
    account (deal-level: two surprising deals of one account are two
    items), and each tier A customer that churned (account-level). Under
    every profile's live tiers, or one's; "reviewed" is the viewer's mark,
    or anyone's without a viewer (a check-in's agenda)."""

    def halves() -> list[QuerySet[Any]]:
        return _surprise_halves(viewer, since, include_reviewed, current=current_run_ids(profile))

    def rows() -> QuerySet[Any]:
        return _union([h.values_list(*SURPRISE_COLUMNS) for h in halves()]).order_by(
            "-s_occurred_at", "s_account_id", "s_object_id"
        )

    def outcomes() -> QuerySet[Any]:
        # UNION without ALL: an outcome surprising under several profiles once.
        first, *rest = [h.values_list("s_kind", "s_object_id", "s_occurred_at") for h in halves()]
        return first.union(*rest) if rest else first.distinct()

    return Surprises(rows, outcomes)


@dataclass(frozen=True)
class Outcome:
    """One surprising deal (or churn) of an entry, whatever the profiles."""

    object_id: int
    deal: str | None
    amount: Decimal | None
    currency: str | None
    occurred_at: datetime
    reviewed: bool


@dataclass(frozen=True)
class Standing:
    """The tier a profile's live version gives the account."""

    profile_name: str
    profile_slug: str
    tier: str


@dataclass
class SurpriseEntry:
    """One account's surprises of one kind, across every profile whose live
    tier they surprised: marked reviewed together."""

    kind: str
    account_id: int
    account_name: str
    external_id: str
    latest: datetime
    outcomes: list[Outcome] = field(default_factory=list)
    standings: list[Standing] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.account_id}"

    @property
    def reviewed(self) -> bool:
        return all(o.reviewed for o in self.outcomes)

    @property
    def waiting(self) -> int:
        return sum(1 for o in self.outcomes if not o.reviewed)

    def add(self, item: Surprise) -> None:
        if not any(o.object_id == item.object_id for o in self.outcomes):
            self.outcomes.append(
                Outcome(
                    item.object_id,
                    item.deal,
                    item.amount,
                    item.currency,
                    item.occurred_at,
                    item.reviewed,
                )
            )
        standing = Standing(item.profile_name, item.profile_slug, item.tier)
        if standing not in self.standings:
            self.standings.append(standing)


GROUP_COLUMNS = ("s_rank", "s_kind", "s_account_id", "s_latest")


class SurpriseEntries:
    """The surprises grouped by kind and account, as a Paginator takes them:
    count() and slices, each slice two queries (the page of entries, then
    their outcomes), whatever the entries hold."""

    def __init__(
        self,
        viewer: User,
        since: datetime,
        include_reviewed: bool,
        current: list[int] | None = None,
    ) -> None:
        self.viewer = viewer
        self.since = since
        self.include_reviewed = include_reviewed
        self.current = current_run_ids() if current is None else current
        halves = _surprise_halves(viewer, since, include_reviewed, current=self.current)
        self.groups = _union(
            [
                h.values("s_rank", "s_kind", "s_account_id")
                .annotate(s_latest=Max("s_occurred_at"))
                .values_list(*GROUP_COLUMNS)
                for h in halves
            ]
        ).order_by("s_rank", "-s_latest", "s_account_id")

    def count(self) -> int:
        return self.groups.count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[SurpriseEntry]:
        return iter(self[:])

    @overload
    def __getitem__(self, index: int) -> SurpriseEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[SurpriseEntry]: ...
    def __getitem__(self, index: int | slice) -> SurpriseEntry | list[SurpriseEntry]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        groups = list(self.groups[index])
        return _entries(
            self.viewer,
            self.since,
            self.include_reviewed,
            [(kind, account_id, latest) for _, kind, account_id, latest in groups],
            current=self.current,
        )


def _entries(
    viewer: User,
    since: datetime,
    include_reviewed: bool,
    groups: list[tuple[str, int, datetime]],
    current: list[int] | None = None,
) -> list[SurpriseEntry]:
    """The entries of the groups (kind, account, latest), in their order,
    with their outcomes and the profiles they surprised: one query."""
    if not groups:
        return []
    account_ids = sorted({account_id for _, account_id, _ in groups})
    halves = _surprise_halves(
        viewer, since, include_reviewed, current=current, account_ids=account_ids
    )
    rows = _union([h.values_list(*SURPRISE_COLUMNS) for h in halves]).order_by(
        "-s_occurred_at", "s_object_id", "s_profile_name"
    )
    entries: dict[tuple[str, int], SurpriseEntry] = {}
    for kind, account_id, latest in groups:
        entries[(kind, account_id)] = SurpriseEntry(kind, account_id, "", "", latest)
    for row in rows:
        item = Surprises.surprise(row)
        entry = entries.get((item.kind, item.account_id))
        if entry is None:
            continue
        entry.account_name, entry.external_id = item.account_name, item.external_id
        entry.add(item)
    return list(entries.values())


def surprise_outcomes_to_mark(
    *,
    viewer: User,
    kind: str,
    account_id: int | None,
    through: datetime,
    since: datetime | None = None,
) -> list[tuple[int, datetime]]:
    """The (object id, moment) of each surprise of the kind (of the one
    account) that happened by `through` and the viewer has not marked."""
    since = since or surprise_window_start()
    halves = _surprise_halves(
        viewer, since, False, kinds=(kind,), account_id=account_id, through=through
    )
    if not halves:
        return []
    rows = _union([h.values_list("s_object_id", "s_occurred_at") for h in halves])
    return sorted(set(rows))


def surprise_window_start(now: datetime | None = None) -> datetime:
    """Surprises older than REVIEWS_SURPRISE_DAYS have left the queue."""
    return (now or timezone.now()) - timedelta(days=settings.REVIEWS_SURPRISE_DAYS)


# How each kind is counted in words: one, many.
SURPRISE_NOUNS = {
    ReviewMark.Kind.WON: ("tier C/DQ win", "tier C/DQ wins"),
    ReviewMark.Kind.LOST: ("tier-A loss", "tier-A losses"),
    ReviewMark.Kind.CHURNED: ("tier-A churn", "tier-A churns"),
}
SURPRISE_TITLES = {
    ReviewMark.Kind.WON: "Deals won by tier C or DQ accounts",
    ReviewMark.Kind.LOST: "Deals lost by tier A accounts",
    ReviewMark.Kind.CHURNED: "Tier A customers that churned",
}


@dataclass(frozen=True)
class KindSummary:
    """A kind of surprise this week against its usual week: the weekly
    average over the REVIEWS_SURPRISE_USUAL_WEEKS weeks before."""

    kind: str
    this_week: int
    before: int
    weeks: int
    waiting: int

    @property
    def title(self) -> str:
        return SURPRISE_TITLES[ReviewMark.Kind(self.kind)]

    @property
    def usual(self) -> Decimal:
        return Decimal(self.before) / self.weeks

    @property
    def sentence(self) -> str:
        """ "31 tier-A losses this week, 12 more than usual"."""
        one, many = SURPRISE_NOUNS[ReviewMark.Kind(self.kind)]
        said = f"{counted(self.this_week, one, many)} this week"
        difference = round(self.this_week - self.usual)
        if difference > 0:
            return f"{said}, {count(difference)} more than usual"
        if difference < 0:
            return f"{said}, {count(-difference)} fewer than usual"
        return f"{said}, as many as usual"

    @property
    def usual_text(self) -> str:
        weeks = counted(self.weeks, "week")
        return f"usual: {average(self.usual)} a week, the average of the {weeks} before"


def surprise_kinds(
    *, viewer: User, now: datetime | None = None, current: list[int] | None = None
) -> list[KindSummary]:
    """Each kind of surprise: this week's count against the usual week, and
    how many of the queue's surprises of that kind the viewer has not marked
    reviewed. One aggregate query (reviews.sql.surprise_weeks); this week is
    the 7 days up to now."""
    now = now or timezone.now()
    weeks = settings.REVIEWS_SURPRISE_USUAL_WEEKS
    week = now - timedelta(days=7)
    if current is None:
        current = current_run_ids()
    found: dict[str, tuple[int, int, int]] = {}
    if current:
        statement = sql.surprise_weeks(
            current, viewer.pk, now, week, week - timedelta(days=7 * weeks),
            surprise_window_start(now),
        )  # fmt: skip
        found = {
            kind: (int(a or 0), int(b or 0), int(c or 0)) for kind, a, b, c in fetchall(statement)
        }
    summaries = []
    for kind in SURPRISE_KINDS:
        this_week, before, waiting = found.get(kind, (0, 0, 0))
        summaries.append(KindSummary(kind, this_week, before, weeks, waiting))
    return summaries


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
        rows = cache_get(key)
        if rows is None:
            rows = _moves(run.pk, previous, limit)
            cache_set(key, rows, MOVES_CACHE_SECONDS)
        moves.extend(Move(run.profile, run, *row) for row in rows)
    return moves


def queue_get(*, viewer: User, include_reviewed: bool = False) -> Queue:
    """A manager's weekly queue. Items marked reviewed are left out unless
    `include_reviewed`; `Queue.is_new` tells what came after the last review."""
    checkpoint = (
        ReviewCheckpoint.objects.filter(user=viewer).values_list("reviewed_at", flat=True).first()
    )
    since = surprise_window_start()
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
