"""Reads in scoring: the account base with each account's current score."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from icpsite.lookups import any_of_takes
from profiles.models import Profile
from scoring import sql
from scoring.engine import Result, evaluate
from scoring.models import (
    Account,
    AccountScore,
    AccountTombstone,
    ChangeClock,
    Deal,
    RunStatus,
    ScoringRun,
    TierOverride,
    WebhookDelivery,
    WebhookSubscription,
    outcome_deal_id,
    outcome_values,
)
from scoring.rulesets import ruleset_for


def current_run(*, profile: Profile) -> ScoringRun | None:
    return (
        ScoringRun.objects.filter(profile=profile, is_current=True)
        .select_related("version")
        .first()
    )


def current_run_list() -> QuerySet[ScoringRun]:
    """Every profile's current run, with its profile and version."""
    return ScoringRun.objects.filter(is_current=True).select_related("profile", "version")


def run_list(*, profile: Profile) -> QuerySet[ScoringRun]:
    """The profile's runs, newest first, with their versions."""
    return (
        ScoringRun.objects.filter(profile=profile)
        .select_related("profile", "version")
        .order_by("-created_at", "-id")
    )


def latest_run(*, profile: Profile) -> ScoringRun | None:
    return ScoringRun.objects.filter(profile=profile).select_related("version").first()


def scored_profiles() -> QuerySet[Profile]:
    """Profiles that have a current run, for choosing whose scores to show."""
    return Profile.objects.filter(scoring_runs__is_current=True).order_by("name")


def live_override(profile_id: Any, version_id: Any, *, through: str = "") -> Q:
    """Which tier override applies to an account under a profile: the one
    set under the version that scored the profile's current run.

    The definition of an effective tier: an applying override, else the
    scored tier. An override set under another version, an older one or one
    approved while its rescoring run is still in progress, does not apply;
    readers see the current run's tiers and the overrides set against them
    until the next run takes over. `profile_id` and `version_id` are the
    current run's, as values or expressions; `through` is the path to the
    override rows from the model queried.
    """
    return Q(**{f"{through}profile_id": profile_id, f"{through}version_id": version_id})


def effective_tier(override_tier: Any, tier: Any) -> Coalesce:
    """The effective tier from the applying override's tier and the scored tier."""
    return Coalesce(override_tier, tier, output_field=CharField())


# The accounts list's sorts: the `sort` parameter's keys and the values they
# sort by.
ACCOUNT_SORTS = {
    "name": "name",
    "score": "score",
    "employees": "employees",
    "revenue": "annual_revenue",
}
BEST_FIRST = "-score"


def account_order(sort: str = BEST_FIRST, *, indexed: bool = True) -> tuple[OrderBy, OrderBy]:
    """The accounts list's order for `sort`, a key of ACCOUNT_SORTS, with
    "-" before it for the highest first (best score first when empty).

    Accounts without the value (unscored, no headcount) come last either
    way; accounts with the same value follow the account id in the sort's
    direction (newest first when the highest come first), so every order is
    total (a page never repeats or skips an account) and the descending sort
    is the exact reverse of the ascending one. By score, these are the
    order of the run's score index (scoring.score_tables) and a page reads
    its accounts from there; by name, the accounts' (name, id) index.

    Not `indexed`, the same order over an expression of the value, which
    no index offers: the planner then reads every match and sorts them,
    rather than walk an index in this order hoping to meet the matches
    early (see account_rows).
    """
    sort = sort or BEST_FIRST
    descending = sort.startswith("-")
    field = ACCOUNT_SORTS[sort.removeprefix("-")]
    value: Any = F(field)
    if not indexed:
        value = Coalesce(value, Value("")) if field == "name" else value + Value(0)
    # NULLS LAST only where a value can be missing: on a name it would not
    # match the name index read backwards (DESC is NULLS FIRST there).
    nulls_last = True if field != "name" else None
    if descending:
        return value.desc(nulls_last=nulls_last), F("id").desc()
    return value.asc(nulls_last=nulls_last), F("id").asc()


def account_list(*, run: ScoringRun | None) -> QuerySet[Account]:
    """Every account with `score` and `tier` from `run` (None when unscored),
    `override_tier` when an override applies (see live_override), and
    `effective_tier`, the override or else the scored tier. Best first
    (account_order).

    One LEFT JOIN on the run's score rows and one on live overrides:
    filtering and sorting stay in the database and the query count does
    not grow with the page.
    """
    accounts = Account.objects.all()
    if run is None:
        none = Value(None, output_field=CharField())
        return accounts.annotate(
            score=Value(None, output_field=IntegerField()),
            tier=none,
            override_tier=none,
            effective_tier=none,
        ).order_by(*account_order("name"))
    applies = live_override(run.profile_id, run.version_id, through="tier_overrides__")
    return accounts.annotate(
        current=FilteredRelation("scores", condition=Q(scores__run_id=run.pk)),
        override=FilteredRelation("tier_overrides", condition=applies),
        score=F("current__score"),
        tier=F("current__tier"),
        override_tier=F("override__tier"),
        effective_tier=effective_tier(F("override__tier"), F("current__tier")),
    ).order_by(*account_order())


# A page sorted by score and narrowed by the accounts' own columns looks for
# its rows among this many of the best (or worst) rows of its band of the
# run's scores, or this many times the rows up to the page's end, before it
# reads every match (ScoreBand.head).
HEAD_ROWS = 5000
HEAD_FACTOR = 20


def head_rows(stop: int) -> int:
    """How many of its band's rows a page ending at `stop` looks among."""
    return max(HEAD_ROWS, HEAD_FACTOR * stop)


@dataclass(frozen=True)
class ScoreBand:
    """The run's score rows a page's filters allow (`rows`, through
    scoring.filters.ScoreBandFilter: tier, score range, and industry and
    country from the rows' copies of the account's).

    `exact`: every filter of the page is one a score row answers, so the
    rows are the page's scored matches themselves, and the run's indexes
    give them in score order. `scored_only`: the filters leave unscored
    accounts out (a tier or a score range). `accounts`: the accounts,
    scored or not, that the page's filters allow when none of them reads
    the run's rows or overrides (AccountFilter.own_accounts), else None.
    """

    rows: QuerySet[AccountScore]
    exact: bool = False
    scored_only: bool = False
    accounts: QuerySet[Account] | None = None

    def best(self, *, descending: bool) -> QuerySet[AccountScore, Any]:
        """The rows' account ids, best (or worst) first, as the run's
        indexes order them: by score, then account."""
        order = (F(c).desc() if descending else F(c).asc() for c in ("score", "account_id"))
        return self.rows.order_by(*order).values("account_id")

    def head(self, *, descending: bool, stop: int) -> QuerySet[AccountScore, Any]:
        """The first head_rows(`stop`) of best()'s rows."""
        return self.best(descending=descending)[: head_rows(stop)]

    def ordered_by(self, sort: str) -> bool:
        """Whether the rows give the page `sort` asks for themselves: they
        are exactly the matches and the sort is by score (account_rows)."""
        return self.exact and by_score(sort)


def by_score(sort: str) -> bool:
    """Whether `sort` (account_order's) is by score, either way."""
    return (sort or BEST_FIRST).removeprefix("-") == "score"


class Matches(NamedTuple):
    """How many accounts match, counted up to a cap and one; their ids, when
    account_matches read them, else None; and whether the ids are in the
    order of the page's sort."""

    total: int
    ids: list[int] | None
    in_order: bool = False


def account_matches(
    accounts: QuerySet[Account], *, band: ScoreBand | None, sort: str, cap: int
) -> Matches:
    """How many of `accounts` (account_list's, filtered) there are, counted
    up to `cap` + 1 without joining each account to the run and its
    overrides where `band` allows: from the run's rows alone when they
    hold exactly the matches and no unscored account can match (a tier, a
    score range, with or without a category); from the accounts alone
    when no filter reads the run (a category, a search, a CRM).

    Counted from the run's rows, or from the accounts with a search or a
    CRM among the filters, the matches' ids come with the count, unless
    the band gives the page in `sort`'s order itself (ScoreBand.ordered_by)
    or the database takes too few values in one list (icpsite.lookups): that
    one read of the matches (a searched word's trigram index and each
    match's row to check) then serves a page of few matches too
    (account_rows' `matches`), instead of a second read of them all joined
    to the run. When they are more than `cap`, the page does not use them."""
    counted: QuerySet[Any] = accounts
    key = None
    if band is not None and band.exact and band.scored_only:
        counted, key = band.rows, "account_id"
    elif band is not None and band.accounts is not None:
        counted = band.accounts
        key = None if band.exact else "pk"
    if key is None or (band is not None and band.ordered_by(sort)):
        return Matches(int(counted.order_by()[: cap + 1].count()), None)
    in_order = key == "pk" and not by_score(sort)
    if in_order:
        # The sort's value is the accounts' own: the matches come sorted
        # by it from the same read (the few thousand read are sorted, not
        # every match: the LIMIT stays inside).
        value, tie = account_order(sort, indexed=False)
        read = counted.order_by().annotate(sort_value=value.expression)
        keys = [
            ("sort_value", value.descending, bool(value.nulls_last)),
            ("pk", tie.descending, False),
        ]
        statement = sql.ordered(sql.of(read.values("pk", "sort_value")[: cap + 1]), keys)
        ids = [row[0] for row in sql.fetchall(statement)]
    else:
        ids = list(counted.order_by().values_list(key, flat=True)[: cap + 1])
    return Matches(len(ids), ids if any_of_takes(len(ids)) else None, in_order)


def account_rows(
    accounts: QuerySet[Account],
    *,
    run: ScoringRun | None,
    sort: str,
    start: int,
    stop: int,
    few: bool = False,
    band: ScoreBand | None = None,
    matches: Matches | None = None,
) -> list[Account]:
    """Rows `start` to `stop` of `accounts` (account_list's for `run`,
    filtered) in the order of account_order(`sort`), in one query (up to
    three with `matches`). `few`: the filters match few accounts (at most the
    list's count cap). `band`: the run's score rows the filters allow
    (ScoreBand). `matches`: account_matches' count, with the ids of every
    match when it read them.

    Few matches are read whole and sorted, whatever the sort: walking an
    index in the sort's order, as the planner would to stop early, meets
    them late or never when they sit at its end (a disqualified country at
    the bottom of the scores, a name searched late in the alphabet). With
    their ids known, the page's ids are sorted among them alone (already in
    order when the count sorted them; by score: _best; else on the
    accounts' column, not joined to the run) and only the page's rows are
    read whole: an industry and a searched word (8,000 matches) took
    100-150 ms joined to the run and sorted whole, 10-60 ms so, after the
    count's read of the same matches.

    Sorted by score on PostgreSQL, the scored accounts are read through the
    run's score index and the unscored ones after them: over the LEFT JOIN
    that keeps unscored accounts in the list the planner cannot drive from
    the scores, and sorted a million joined rows for every page (0.6-0.9 s).
    The unscored part, which needs every filtered account checked against
    the run, is only read when the scored ones run out before `stop`:
    `NOT EXISTS` on the stop-th scored row, which PostgreSQL evaluates once
    before the part and skips it on; never when the band leaves unscored
    accounts out.

    A band that holds exactly the matches gives the page's scored accounts
    itself: its first `stop` account ids, read from the run's index on the
    band's columns (an industry: (industry, score, account)), whether the
    matches are few or many. The accounts' own columns cannot lead the
    planner there: it joined every match of an industry to the run (100-400
    ms for 50,000-100,000 accounts).

    Narrowed further (a search, a CRM, an effective tier), the scored part
    is read in two ways, one of which runs: among the band's best HEAD_ROWS
    (or HEAD_FACTOR times `stop`) rows, when they hold `stop` matches; else
    every match, sorted. The planner assumes matches are spread evenly
    along the scores, and they are not: a disqualified industry or country
    sits at the very end, and walking the index down to it took seconds
    (the whole run probed).

    Elsewhere (other sorts, SQLite, which cannot slice the parts of a UNION)
    the one ordered query serves.
    """
    banded = band is not None and band.ordered_by(sort)
    if few and not banded and matches is not None and matches.ids is not None and run is not None:
        # The page's ids, sorted among the matches alone, then its rows.
        among = account_order(sort, indexed=False)
        ids = matches.ids
        if matches.in_order:
            page = ids[start:stop]
        elif by_score(sort):
            descending = bool(among[0].descending)
            page = _best(ids, run=run, descending=descending, stop=stop, band=band)[start:]
        else:
            ordered = Account.objects.filter(pk__any=ids).order_by(*among)
            page = list(ordered.values_list("pk", flat=True)[start:stop])
        return list(accounts.filter(pk__any=page).order_by(*among)) if page else []
    if few and not banded:
        if band is not None and band.exact and band.scored_only:
            # The matches are the band's accounts: found on the run's index
            # rather than through the accounts' column and each joined to the run.
            accounts = accounts.filter(pk__in=Subquery(band.rows.values("account_id")))
        return list(accounts.order_by(*account_order(sort, indexed=False))[start:stop])
    order = account_order(sort)
    if (
        run is None
        or not by_score(sort)
        or not connection.features.supports_slicing_ordering_in_compound
        or stop <= start
    ):
        return list(accounts.order_by(*order)[start:stop])
    score, tie = order
    descending = score.descending
    in_index_order = F("score").desc() if descending else F("score").asc()
    parts = accounts.alias(scored_account=F("current__account_id"))
    scored = parts.filter(scored_account__isnull=False)
    ranked: list[QuerySet[Any]] = [scored.order_by(in_index_order, tie)]
    enough: QuerySet[Any] = scored.order_by()[stop - 1 : stop]
    if band is not None and band.exact:
        best = band.best(descending=descending)
        ranked = [scored.filter(pk__in=Subquery(best[:stop])).order_by(in_index_order, tie)]
        enough = band.rows.order_by()[stop - 1 : stop]
    elif band is not None:
        head = scored.filter(pk__in=Subquery(band.head(descending=descending, stop=stop)))
        # Whether the head holds `stop` rows: its stop-th row, read in the
        # index's order (an EXISTS would drop the order, and the planner
        # then walked the accounts' key instead).
        last = head.order_by(in_index_order, tie).values("pk")[stop - 1 : stop]
        head_holds = Q(head_last__isnull=False)
        # Every match, sorted, wherever they are.
        every, _ = account_order(sort, indexed=False)
        # The tail sorts the matches' ids and scores alone, then reads the
        # page's rows: sorting tens of thousands of whole account rows was
        # most of its time.
        tail = scored.alias(head_last=Subquery(last)).exclude(head_holds).order_by(every, tie)
        ranked = [
            head.alias(head_last=Subquery(last)).filter(head_holds).order_by(in_index_order, tie),
            scored.filter(pk__in=Subquery(tail.values("pk")[:stop])).order_by(in_index_order, tie),
        ]
    if band is not None and band.scored_only and len(ranked) == 1:
        return list(ranked[0][start:stop])
    labelled = [part.annotate(unscored=Value(0)) for part in ranked]
    if band is None or not band.scored_only:
        unscored = parts.filter(~Exists(enough), scored_account__isnull=True).order_by(tie)
        labelled.append(unscored.annotate(unscored=Value(1)))
    first, *others = [part[:stop] for part in labelled]
    combined = first.union(*others, all=True)
    return list(combined.order_by("unscored", in_index_order, tie)[start:stop])


def _best(
    ids: Sequence[int], *, run: ScoringRun, descending: bool, stop: int, band: ScoreBand | None
) -> list[int]:
    """The first `stop` of `ids` in the order of account_order("-score")
    (or "score"): by score, then id, the unscored last, by id.

    First among the head of the band's rows (ScoreBand.head), read from its
    index alone: the band holds every scored match, in that order (its
    industry and country are the rows' copies of the accounts', which
    every write of an account's category refreshes with its score,
    sql.scores_copies_refresh), so the first `stop` of the ids met there
    are the page's (an industry and a common word: about 1,300 rows for
    50 matches), and a head shorter than its limit holds every scored id.
    Else every id's score, read by account (the run's key) and sorted
    here: sorting whole numbers needs no collation, and the planner, asked
    to join thousands of ids to the run, read all of it (120 ms at a
    million)."""
    if not ids or stop <= 0:
        return []
    sign = -1 if descending else 1
    if band is not None:
        wanted = set(ids)
        head = list(
            band.head(descending=descending, stop=stop).values_list("account_id", flat=True)
        )
        found = [pk for pk in head if pk in wanted]
        if len(found) >= stop:
            return found[:stop]
        if len(head) < head_rows(stop):
            unscored = sorted(wanted.difference(head), key=lambda pk: sign * pk)
            return (found + unscored)[:stop]
    scores = dict(
        run_scores(run=run).filter(account__id__any=list(ids)).values_list("account_id", "score")
    )

    def key(pk: int) -> tuple[bool, int, int]:
        score = scores.get(pk)
        return score is None, sign * (score or 0), sign * pk

    return sorted(ids, key=key)[:stop]


def run_scores(*, run: ScoringRun) -> QuerySet[AccountScore]:
    """The run's score rows (on PostgreSQL, its table alone)."""
    return AccountScore.objects.filter(run=run)


def account_get(*, pk: int) -> Account:
    return Account.objects.get(pk=pk)


@dataclass(frozen=True)
class Standing:
    """An account's standing under one profile: its score and tier in the
    profile's current run (None when that run did not score it, or there is
    no current run), the tier of an override that applies (see
    live_override) and the effective tier."""

    profile: Profile
    run: ScoringRun | None
    score: int | None
    tier: str | None
    override_tier: str | None
    effective_tier: str | None

    @property
    def overridden(self) -> bool:
        return self.override_tier is not None


def _standings(*, account: Account, runs: QuerySet[ScoringRun]) -> list[Standing]:
    """The account's standing in each of `runs` (current runs), in one query."""
    scored = AccountScore.objects.filter(run_id=OuterRef("pk"), account_id=account.pk)
    override = TierOverride.objects.filter(
        live_override(OuterRef("profile_id"), OuterRef("version_id")), account_id=account.pk
    )
    rows = runs.select_related("profile", "version").annotate(
        account_score=Subquery(scored.values("score")[:1]),
        account_tier=Subquery(scored.values("tier")[:1]),
        override_tier=Subquery(override.values("tier")[:1]),
        account_effective_tier=effective_tier(F("override_tier"), F("account_tier")),
    )
    return [
        Standing(
            profile=run.profile,
            run=run,
            score=run.account_score,
            tier=run.account_tier,
            override_tier=run.override_tier,
            effective_tier=run.account_effective_tier,
        )
        for run in rows
    ]


def account_standing(*, account: Account, profile: Profile) -> Standing:
    """The account's standing under `profile`; empty without a current run."""
    runs = ScoringRun.objects.filter(profile=profile, is_current=True)
    found = _standings(account=account, runs=runs)
    if found:
        return found[0]
    return Standing(profile, None, None, None, None, None)


def account_standings(*, account: Account) -> list[Standing]:
    """The account's standing under every profile with a current run, by
    profile name, in one query."""
    runs = ScoringRun.objects.filter(is_current=True).order_by("profile__name", "profile_id")
    return _standings(account=account, runs=runs)


@dataclass(frozen=True)
class ProfileScore:
    """An account's standing under one profile's current run and the
    engine's explanation of the account as it is now."""

    standing: Standing
    result: Result

    @property
    def profile(self) -> Profile:
        return self.standing.profile

    @property
    def run(self) -> ScoringRun:
        assert self.standing.run is not None
        return self.standing.run

    @property
    def rescore_pending(self) -> bool:
        """The account changed since the run scored it (or the run did not)."""
        stored = (self.standing.score, self.standing.tier)
        return self.standing.score is None or stored != (self.result.score, self.result.tier.value)


def account_explanations(*, account: Account) -> list[ProfileScore]:
    """For each current run, newest first: the account's standing and the
    engine's explanation of its data now under the run's version."""
    standings = _standings(account=account, runs=ScoringRun.objects.filter(is_current=True))
    facts = account.facts()
    return [
        ProfileScore(standing, evaluate(ruleset_for(standing.run.version), facts))
        for standing in standings
        if standing.run is not None
    ]


def account_history(*, account: Account) -> QuerySet[AccountScore]:
    """The account's scores in every retained run, newest first."""
    # Run ids as literals: each run's rows are then found through its key.
    retained = list(
        ScoringRun.objects.filter(status=RunStatus.SUCCEEDED).values_list("pk", flat=True)
    )
    return (
        AccountScore.objects.filter(run_id__in=retained, account=account)
        .select_related("run__version", "run__profile")
        .order_by("-run__created_at")
    )


def changes_cursor(*, profile_id: int) -> int:
    """The profile's latest change number: "changed since" it is empty for now."""
    clock = ChangeClock.objects.filter(profile_id=profile_id).values_list("seq", flat=True)
    return int(clock.first() or 0)


def score_feed(
    *,
    run: ScoringRun | None,
    since: int = 0,
    until: int,
    after: int = 0,
) -> QuerySet[Account]:
    """The accounts scored in `run` whose latest change is numbered after
    `since` and at most `until` (see ChangeClock), as account_list annotates
    them, with their `matched` criteria, `seq` and `changed_at` of that
    change and the run's `version_number`, in account order from after
    account id `after`: the feed a CRM pulls. Empty without a run.

    Pinning `until` (the counter when a sync began) keeps a paged sync
    exact: an account that changes while the pages are read is left to the
    next sync, which starts after `until`, instead of being read twice or
    skipped.
    """
    accounts = account_list(run=run)
    if run is None:
        return accounts.annotate(
            matched=Value(0, IntegerField()),
            seq=Value(0, IntegerField()),
            changed_at=Value(None, DateTimeField()),
            version_number=Value(None, IntegerField()),
        ).none()
    run_seq = run.feed_seq or 0
    # The window on the stored column, not on the COALESCE the rows show:
    # PostgreSQL estimates the column from its statistics and reads the
    # run in key order, where it took a COALESCE range for a handful of
    # rows, read the whole run and sorted it for every page.
    window = Q(row_seq__gt=since, row_seq__lte=until)
    if since < run_seq <= until:
        window |= Q(row_seq__isnull=True)
    return (
        accounts.annotate(
            matched=F("current__matched"),
            row_seq=F("current__changed_seq"),
            row_account=F("current__account_id"),
            seq=Coalesce(F("current__changed_seq"), Value(run_seq)),
            changed_at=Coalesce(F("current__changed_at"), Value(run.finished_at, DateTimeField())),
            version_number=Value(run.version.number, IntegerField()),
        )
        # The id bound on the score rows too: PostgreSQL does not carry a
        # range across the join, and the run's primary key is where it reads.
        .filter(window, id__gt=after, row_account__gt=after)
        .order_by("id")
    )


def tombstone_feed(
    *, profile_id: int, since: int, until: int, after: int = 0
) -> QuerySet[AccountTombstone]:
    """The profile's tombstones numbered after `since` and at most `until`,
    in account id order from after account id `after`: the removals a sync
    reads beside score_feed's rows, in the same window and order. Read
    through the (profile, seq) index."""
    return AccountTombstone.objects.filter(
        profile_id=profile_id, seq__gt=since, seq__lte=until, account_id__gt=after
    ).order_by("account_id")


def removals_pruned_seq(*, profile_id: int) -> int:
    """The highest change number among the profile's pruned tombstones: a
    sync reading changes since a smaller one may have missed a removal."""
    clock = ChangeClock.objects.filter(profile_id=profile_id)
    return int(clock.values_list("tombstones_pruned_seq", flat=True).first() or 0)


def account_sync_list(
    *,
    updated_since: datetime | None = None,
    external_ids: Collection[str] | None = None,
    run: ScoringRun | None = None,
    tiers: Collection[str] | None = None,
) -> QuerySet[Account]:
    """The accounts a CRM pages through to reconcile: changed at or after
    `updated_since`, among `external_ids`, and with an effective tier in
    `tiers` under the profile whose current run is `run` (account_list's
    effective tier: the definition account_standing reads, set-based).
    Unordered; the caller pages it."""
    accounts = Account.objects.all()
    if tiers is not None:
        accounts = account_list(run=run).filter(Q(effective_tier__in=list(tiers)))
    if updated_since is not None:
        accounts = accounts.filter(updated_at__gte=updated_since)
    if external_ids is not None:
        accounts = accounts.filter(external_id__in=list(external_ids))
    return accounts.order_by()


def account_get_by_external_id(*, external_id: str) -> Account | None:
    """The account a CRM knows by `external_id`, or None."""
    return Account.objects.filter(external_id=external_id).first()


def account_ids_by_external_id(*, external_ids: Collection[str]) -> dict[str, int]:
    """external_id -> id of the accounts held among `external_ids`."""
    rows = Account.objects.filter(external_id__in=list(external_ids))
    return dict(rows.values_list("external_id", "pk"))


def score_profile_get(*, slug: str) -> Profile | None:
    """The profile whose scores are read, by slug, or None."""
    return Profile.objects.filter(slug=slug).first()


def webhook_subscription_list() -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.order_by("id")


def webhook_delivery_list(
    *, subscription: WebhookSubscription, limit: int = 100
) -> QuerySet[WebhookDelivery]:
    """The subscription's latest `limit` deliveries, newest first."""
    return subscription.deliveries.prefetch_related("attempt_log").order_by("-created_at", "-id")[
        :limit
    ]


def deal_list(
    *,
    account: str | None = None,
    status: str | None = None,
    updated_since: datetime | None = None,
) -> QuerySet[Deal]:
    """Deals with their account's external id (`account_external_id`),
    narrowed to an account (its external id), a status, or those changed
    at or after `updated_since`; in no order (the caller pages them)."""
    deals = Deal.objects.annotate(account_external_id=F("account__external_id"))
    if account is not None:
        deals = deals.filter(account__external_id=account)
    if status is not None:
        deals = deals.filter(status=status)
    if updated_since is not None:
        deals = deals.filter(updated_at__gte=updated_since)
    return deals.order_by()


def deal_get_by_external_id(*, external_id: str) -> Deal | None:
    """The deal a CRM knows by `external_id`, or None."""
    return deal_list().filter(external_id=external_id).first()


def account_deals(*, account: Account) -> QuerySet[Deal]:
    """The account's deals: open ones first (latest opened first), then the
    closed ones, latest closed first."""
    return Deal.objects.filter(account=account).order_by(
        F("closed_at").desc(nulls_first=True), F("opened_at").desc(nulls_last=True), "id"
    )


def account_outcome(*, account: Account) -> dict[str, Any]:
    """The account's outcome fields, read from its outcome deal."""
    return account_outcomes(accounts=[account])[account.pk]


def account_outcomes(*, accounts: Iterable[Account]) -> dict[int, dict[str, Any]]:
    """account id -> the account's outcome fields, read from the outcome
    deals of `accounts` (a page) in one query."""
    accounts = list(accounts)
    wanted = [outcome_deal_id(account.external_id) for account in accounts]
    deals = Deal.objects.in_bulk(wanted, field_name="external_id")
    return {
        account.pk: outcome_values(deals.get(outcome_deal_id(account.external_id)))
        for account in accounts
    }


# --- Traits -------------------------------------------------------------------


def trait_value_counts(*, keys: Iterable[str]) -> dict[str, int]:
    """How many accounts hold a value for each trait key, in one pass over
    the accounts (about 0.2 s a million on PostgreSQL): ingest drops a
    trait set to null, so holding the key is holding a value."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    counts = Account.objects.aggregate(
        **{f"k{i}": Count("pk", filter=Q(traits__has_key=key)) for i, key in enumerate(keys)}
    )
    return {key: counts[f"k{i}"] or 0 for i, key in enumerate(keys)}


def trait_values_held(*, key: str) -> int:
    """How many accounts hold a value for the trait `key` (as trait_value_counts)."""
    return trait_value_counts(keys=[key])[key]
