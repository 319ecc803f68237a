"""The accounts list's orders and pages: every sort is total (ties by account
id), unscored accounts come last, and a page read through the run's score
index (PostgreSQL) holds exactly the rows the one ordered query gives."""

from collections.abc import Callable
from typing import Any, cast

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles.models import Profile, User
from scoring import score_tables, selectors, services, sql, views
from scoring.models import Account, AccountScore, ScoringRun
from scoring.selectors import Matches, ScoreBand, account_list, account_order, account_rows
from tests.drafting import approved_version
from tests.factories import AccountFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps every run in one table"
)

SORTS = ["", "-score", "score", "name", "-name", "employees", "-employees", "revenue", "-revenue"]


@pytest.fixture
def mixed(icp: Profile, ops_manager: User) -> ScoringRun:
    """Scored accounts with many ties (scores 100, 60, 40 and 0, names
    repeated), then accounts added after the run, unscored."""
    for n, (employees, revops, country) in enumerate(
        [
            (450, True, "DE"),  # 100
            (450, True, "DE"),  # 100
            (450, None, "DE"),  # 60
            (9, True, "FR"),  # 40
            (450, True, "DE"),  # 100
            (9, False, "KP"),  # DQ
            (None, True, "US"),  # 40
            (450, False, "DE"),  # 60
            (9, None, "FR"),  # 0
        ]
    ):
        AccountFactory.create(
            name=f"Twin {n % 3}",
            employees=employees,
            annual_revenue=None if n % 4 == 0 else n * 1000,
            has_revops=revops,
            country=country,
        )
    version = approved_version(icp, 1, [200, 2000])
    run = run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    assert run is not None
    for n in range(4):
        AccountFactory.create(name=f"Twin {n % 2}", employees=None if n else 450)
    return run


def expected(run: ScoringRun, sort: str, **filters: Any) -> list[int]:
    """The ids in the order the list promises, worked out in Python."""
    rows = list(account_list(run=run).filter(**filters))
    key, descending = (sort or "-score").removeprefix("-"), (sort or "-score").startswith("-")
    field = {"revenue": "annual_revenue"}.get(key, key)
    present = [a for a in rows if getattr(a, field) is not None]
    missing = [a for a in rows if getattr(a, field) is None]
    present.sort(key=lambda a: (getattr(a, field), a.pk), reverse=descending)
    missing.sort(key=lambda a: a.pk, reverse=descending)
    return [a.pk for a in present + missing]


def ids(rows: list[Account]) -> list[int]:
    return [a.pk for a in rows]


def scores(rows: list[Account]) -> list[int | None]:
    """The scores account_list annotates the rows with."""
    return [cast(Any, a).score for a in rows]


# How a page is read: through the indexes; every match sorted (few
# matches), or their ids known from the count (found in the head of the
# run's scores, or each id's score read); narrowed, through the head of the
# run's scores (here it holds them all) or through the tail (a head of one
# row rarely holds a page); from a band of the run's scores that holds
# exactly the matches.
READS = [
    "indexed",
    "few",
    "few, by their ids",
    "few, by their ids, head",
    "few, by their ids, tail",
    "narrowed, head",
    "narrowed, tail",
]
EXACT_READS = ["band", "band, few"]


def read(
    reading: str, accounts: Any, run: ScoringRun, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., list[Account]]:
    """account_rows as `reading` reads a page."""
    band = ScoreBand(AccountScore.objects.filter(run=run))
    exact = ScoreBand(AccountScore.objects.filter(run=run), exact=True)
    ids = list(accounts.values_list("pk", flat=True))
    matches = Matches(len(ids), ids)
    if reading.endswith("tail"):
        monkeypatch.setattr(selectors, "HEAD_ROWS", 1)
        monkeypatch.setattr(selectors, "HEAD_FACTOR", 1)
    readings: dict[str, dict[str, Any]] = {
        "indexed": {},
        "few": {"few": True},
        "few, by their ids": {"few": True, "matches": matches},
        "few, by their ids, head": {"few": True, "matches": matches, "band": band},
        "few, by their ids, tail": {"few": True, "matches": matches, "band": band},
        "narrowed, head": {"band": band},
        "narrowed, tail": {"band": band},
        "band": {"band": exact},
        "band, few": {"band": exact, "few": True},
    }
    options = readings[reading]

    def rows(sort: str, start: int, stop: int) -> list[Account]:
        return account_rows(accounts, run=run, sort=sort, start=start, stop=stop, **options)

    return rows


@pytest.mark.parametrize("reading", READS + EXACT_READS)
@pytest.mark.parametrize("sort", SORTS)
def test_every_page_of_every_sort_holds_the_rows_of_the_one_ordered_query(
    mixed: ScoringRun, sort: str, reading: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = account_list(run=mixed)
    whole = expected(mixed, sort)
    assert len(whole) == 13
    assert ids(list(accounts.order_by(*account_order(sort)))) == whole
    assert ids(list(accounts.order_by(*account_order(sort, indexed=False)))) == whole
    rows = read(reading, accounts, mixed, monkeypatch)
    for size in (1, 3, 5, 13, 20):
        for start in range(0, 14):
            assert ids(rows(sort, start, start + size)) == whole[start : start + size], (
                size,
                start,
            )


def test_best_first_puts_ties_newest_first_and_unscored_accounts_last(mixed: ScoringRun) -> None:
    rows = account_rows(account_list(run=mixed), run=mixed, sort="", start=0, stop=20)
    assert scores(rows) == [100, 100, 100, 60, 60, 40, 40, 0, 0] + [None] * 4
    top = [a.pk for a, score in zip(rows, scores(rows), strict=True) if score == 100]
    unscored = [a.pk for a, score in zip(rows, scores(rows), strict=True) if score is None]
    assert top == sorted(top, reverse=True)
    assert unscored == sorted(unscored, reverse=True)


def test_worst_first_is_the_reverse_with_unscored_accounts_still_last(mixed: ScoringRun) -> None:
    best = account_rows(account_list(run=mixed), run=mixed, sort="-score", start=0, stop=20)
    worst = account_rows(account_list(run=mixed), run=mixed, sort="score", start=0, stop=20)
    assert ids(worst[:9]) == ids(best[:9])[::-1]
    assert ids(worst[9:]) == ids(best[9:])[::-1]
    assert set(scores(worst[9:])) == {None}


@pytest.mark.parametrize("reading", READS)
@pytest.mark.parametrize(
    ("filters", "count"),
    [
        ({"tier__in": ["A"]}, 3),
        ({"score__gte": 40, "score__lte": 60}, 4),
        ({"name": "Twin 1"}, 5),
        ({"employees__isnull": True}, 4),
        ({"name": "Twin 2", "score__lte": 60}, 3),
    ],
)
def test_filtered_pages_hold_the_filtered_rows_in_order(
    mixed: ScoringRun,
    filters: dict[str, Any],
    count: int,
    reading: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts = account_list(run=mixed).filter(**filters)
    whole = expected(mixed, "", **filters)
    assert len(whole) == count
    rows = read(reading, accounts, mixed, monkeypatch)
    for sort in ["", "score"]:
        whole = expected(mixed, sort, **filters)
        for start in range(0, count + 1):
            assert ids(rows(sort, start, start + 2)) == whole[start : start + 2], (sort, start)


def test_a_narrowed_page_looks_among_the_band_of_scores_its_filters_allow(
    mixed: ScoringRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head of two rows of tier B holds a page of two tier B accounts."""
    monkeypatch.setattr(selectors, "HEAD_ROWS", 2)
    monkeypatch.setattr(selectors, "HEAD_FACTOR", 1)
    accounts = account_list(run=mixed).filter(Q(tier__in=["B"]), name__startswith="Twin")
    band = ScoreBand(AccountScore.objects.filter(run=mixed, tier="B"), scored_only=True)
    rows = account_rows(accounts, run=mixed, sort="", start=0, stop=2, band=band)
    assert ids(rows) == expected(mixed, "", tier__in=["B"])[:2]


def test_a_page_is_one_query_whether_it_holds_scored_or_unscored_accounts(
    mixed: ScoringRun,
) -> None:
    accounts = account_list(run=mixed)
    rows = AccountScore.objects.filter(run=mixed)
    for start, stop in [(0, 2), (8, 11), (11, 13), (20, 22)]:
        readings: list[dict[str, Any]] = [
            {},
            {"few": True},
            {"band": ScoreBand(rows)},
            {"band": ScoreBand(rows, exact=True)},
        ]
        for options in readings:
            with CaptureQueriesContext(connection) as queries:
                account_rows(accounts, run=mixed, sort="", start=start, stop=stop, **options)
            assert len(queries) == 1, (start, stop, options)


def test_the_page_walks_every_account_once_across_pages(
    client: Client, rep: User, mixed: ScoringRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    client.force_login(rep)
    for sort in ["", "score", "name", "-employees"]:
        seen = []
        for number in range(1, 5):
            response = client.get(reverse("account-list"), {"sort": sort, "page": str(number)})
            seen += [a.pk for a in response.context["page"]]
        assert seen == expected(mixed, sort), sort


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ({"q": "twin 1"}, {"name": "Twin 1"}),
        ({"q": "twin", "country": "fr"}, {"country_canonical": "fr"}),
        ({"q": "twin", "country": "DE", "industry": ""}, {"country_canonical": "de"}),
    ],
)
def test_a_searched_page_walks_its_matches_once_in_every_sort(
    client: Client,
    rep: User,
    mixed: ScoringRun,
    monkeypatch: pytest.MonkeyPatch,
    query: dict[str, str],
    filters: dict[str, Any],
) -> None:
    """A search counts its matches and reads each page by their ids
    (account_matches): scored and unscored ones, in the sort's order, with
    a country found on the run's copies (the band) as well."""
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    client.force_login(rep)
    whole = expected(mixed, "", **filters)
    assert len(whole) >= 2
    for sort in SORTS:
        seen = []
        for number in range(1, len(whole) + 1):
            response = client.get(
                reverse("account-list"), {**query, "sort": sort, "page": str(number)}
            )
            paginator = response.context["page"].paginator
            assert paginator.matched.ids is not None
            # Sorted by the accounts' own column, the count's read sorts them.
            assert paginator.matched.in_order == (sort.removeprefix("-") not in ("", "score"))
            seen += [a.pk for a in response.context["page"]]
        assert paginator.count == len(whole)
        assert seen == expected(mixed, sort, **filters), sort


def test_a_tier_sorted_by_score_is_counted_without_reading_its_ids(
    client: Client, rep: User, mixed: ScoringRun
) -> None:
    """The band's index gives that page itself (ScoreBand.ordered_by)."""
    client.force_login(rep)
    response = client.get(reverse("account-list"), {"tier": "A"})
    assert response.context["page"].paginator.matched.ids is None
    response = client.get(reverse("account-list"), {"tier": "A", "sort": "name"})
    assert response.context["page"].paginator.matched.ids is not None
    assert [a.pk for a in response.context["page"]] == expected(mixed, "name", tier="A")


def test_the_export_lists_the_accounts_in_the_pages_order(
    client: Client, rep: User, mixed: ScoringRun
) -> None:
    client.force_login(rep)
    for sort in ["", "score", "-name"]:
        response = client.get(reverse("account-export"), {"sort": sort})
        lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
        exported = [line.split(",")[0] for line in lines if line.startswith("crm-")]
        by_id = dict(Account.objects.values_list("pk", "external_id"))
        assert exported == [by_id[pk] for pk in expected(mixed, sort)], sort


def test_search_finds_a_name_or_a_domain_whatever_the_case(
    client: Client, rep: User, icp: Profile, ops_manager: User
) -> None:
    AccountFactory.create(name="Acme Fit", domain="acme.example")
    AccountFactory.create(name="Beta Half", domain="beta-half.example")
    AccountFactory.create(name="Gamma", domain="GAMMA-Works.example")
    version = approved_version(icp, 1, [200, 2000])
    run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    AccountFactory.create(name="Unscored Acme", domain="later.example")
    client.force_login(rep)

    def found(q: str) -> list[str]:
        response = client.get(reverse("account-list"), {"q": q, "sort": "name"})
        return [a.name for a in response.context["page"]]

    assert found("ACME") == ["Acme Fit", "Unscored Acme"]
    assert found("acme fit") == ["Acme Fit"]
    assert found("Beta-HALF.ex") == ["Beta Half"]
    assert found("gamma-works") == ["Gamma"]
    assert found("LATER.EXAMPLE") == ["Unscored Acme"]
    assert found("nowhere") == []


@pytest.mark.parametrize("sort", ["-score", "name"])
def test_the_page_runs_the_same_queries_with_or_without_unscored_accounts(
    client: Client, rep: User, icp: Profile, ops_manager: User, sort: str
) -> None:
    AccountFactory.create_batch(3)
    version = approved_version(icp, 1, [200, 2000])
    run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    client.force_login(rep)
    client.get(reverse("account-list"), {"sort": sort})
    with CaptureQueriesContext(connection) as scored_only:
        client.get(reverse("account-list"), {"sort": sort})
    AccountFactory.create_batch(60)
    with CaptureQueriesContext(connection) as first_page:
        client.get(reverse("account-list"), {"sort": sort})
    with CaptureQueriesContext(connection) as second_page:
        client.get(reverse("account-list"), {"sort": sort, "page": "2"})
    assert len(first_page) == len(second_page) == len(scored_only)


# --- The run's indexes for the list (PostgreSQL) ------------------------------


def indexes_of(table: str) -> set[str]:
    rows = sql.fetchall(sql.sql("SELECT indexname FROM pg_indexes WHERE tablename = {t}", t=table))
    return {name for (name,) in rows}


@postgres_only
def test_the_current_run_gets_its_list_indexes_when_pruned_and_a_new_run_writes_without(
    mixed: ScoringRun, icp: Profile, ops_manager: User
) -> None:
    table = score_tables.table(mixed.pk)
    listed = set(sql.partition_index_names(mixed.pk))
    suffixes = ["score", "tier_score", "industry_score", "country_score"]
    assert listed == {f"{table}_{suffix}" for suffix in suffixes}
    assert not indexes_of(table) & listed  # the flip builds none
    services.runs_prune(profile_id=icp.pk)
    assert listed <= indexes_of(table)
    services.runs_prune(profile_id=icp.pk)  # again: nothing to do
    score_tables.key_drop(mixed.pk)  # as a table left behind is readied for chunks
    assert not indexes_of(table) & listed


@postgres_only
def test_the_current_run_gets_statistics_of_tiers_and_scores_together_when_pruned(
    mixed: ScoringRun, icp: Profile
) -> None:
    named = sql.partition_statistics_name(mixed.pk)
    kept = sql.sql("SELECT stxkind FROM pg_statistic_ext WHERE stxname = {name}", name=named)
    assert sql.fetchall(kept) == []
    services.runs_prune(profile_id=icp.pk)
    assert sql.fetchall(kept) == [(["m"],)]


@postgres_only
def test_the_search_has_trigram_indexes_led_by_industry_and_country() -> None:
    assert set(sql.ACCOUNT_SEARCH_INDEXES) <= indexes_of("scoring_account")
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "scoring_account")
    for index in sql.ACCOUNT_SEARCH_INDEXES:
        assert constraints[index]["columns"][:2] == ["industry_canonical", "country_canonical"]
    assert not {"account_name_trgm", "account_domain_trgm"} & indexes_of("scoring_account")


def test_the_filters_by_industry_and_country_have_indexes() -> None:
    names = {i.name for i in Account._meta.indexes}
    assert {"account_industry", "account_country"} <= names
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "scoring_account")
    assert constraints["account_industry"]["columns"] == ["industry_canonical", "id"]
    assert constraints["account_country"]["columns"] == ["country_canonical", "id"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_adds_the_list_indexes_and_takes_them_back() -> None:
    executor = MigrationExecutor(connection)
    searched = set(sql.ACCOUNT_SEARCH_INDEXES) if sql.partitioned() else set()
    filtered = {"account_industry", "account_country"}

    def present() -> set[str]:
        with connection.cursor() as cursor:
            names = set(connection.introspection.get_constraints(cursor, "scoring_account"))
        return names & (searched | filtered)

    try:
        executor.migrate([("scoring", "0019_account_outcome_columns_removed")])
        assert present() == set()
        if sql.partitioned():
            assert not {"account_name_trgm", "account_domain_trgm"} & indexes_of("scoring_account")
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert present() == searched | filtered


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_search_indexes_led_by_category_replace_those_of_the_column_alone() -> None:
    executor = MigrationExecutor(connection)
    old, new = {"account_name_trgm", "account_domain_trgm"}, set(sql.ACCOUNT_SEARCH_INDEXES)
    try:
        executor.migrate([("scoring", "0021_score_row_copies")])
        assert indexes_of("scoring_account") & (old | new) == old
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert indexes_of("scoring_account") & (old | new) == new
