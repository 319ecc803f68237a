"""Score rows carry copies of their account's industry and country
(AccountScore): every statement that writes a score writes them, and
scoring an account again brings them in step even when its score stays.
The accounts page reads its category filters through them, and lists and
counts exactly what the accounts' own columns say."""

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from profiles.attributes import canonical
from profiles.models import Profile, User
from scoring import score_tables, services, sql, views
from scoring.ingest.importer import accounts_import
from scoring.models import Account, AccountScore, ScoringRun
from scoring.selectors import changes_cursor
from tests.drafting import approved_version
from tests.factories import AccountFactory
from tests.runs import run_all
from tests.scoring.test_account_list_order import expected, indexes_of

pytestmark = pytest.mark.django_db


def copies(run: ScoringRun) -> dict[int, tuple[str, str]]:
    rows = AccountScore.objects.filter(run=run)
    return {r.account_id: (r.industry_canonical, r.country_canonical) for r in rows}


def own_columns() -> dict[int, tuple[str, str]]:
    return {a.pk: (a.industry_canonical, a.country_canonical) for a in Account.objects.all()}


def edit(account: Account, **values: Any) -> None:
    """As the admin edits an account: its values, reindexed, then scored."""
    for name, value in values.items():
        setattr(account, name, value)
    account.reindex()
    account.save()
    services.accounts_score([account.pk])


@pytest.fixture
def run(icp: Profile, ops_manager: User) -> ScoringRun:
    AccountFactory.create(industry="SaaS", country="DE")
    AccountFactory.create(industry=" Fin  Tech ", country="us")
    AccountFactory.create(industry="", country="KP")
    version = approved_version(icp, 1, [200, 2000])
    run = run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    assert run is not None
    return run


def test_a_run_writes_each_account_s_industry_and_country_on_its_score_row(
    run: ScoringRun,
) -> None:
    assert copies(run) == own_columns()
    assert sorted(copies(run).values()) == [("", "kp"), ("fin tech", "us"), ("saas", "de")]


def test_scoring_an_edited_account_again_refreshes_its_copies_and_nothing_else(
    icp: Profile, run: ScoringRun
) -> None:
    account = Account.objects.get(industry_canonical="saas")
    before = AccountScore.objects.get(run=run, account=account)
    clock = changes_cursor(profile_id=icp.pk)
    edit(account, industry="Media", country="FR")  # the criteria read neither
    after = AccountScore.objects.get(run=run, account=account)
    assert (after.industry_canonical, after.country_canonical) == ("media", "fr")
    assert (after.score, after.tier, after.changed_seq, after.changed_at) == (
        before.score,
        before.tier,
        before.changed_seq,
        before.changed_at,
    )
    assert changes_cursor(profile_id=icp.pk) == clock
    assert copies(run) == own_columns()


def test_an_edit_that_changes_the_score_writes_the_copies_with_it(
    icp: Profile, run: ScoringRun
) -> None:
    account = Account.objects.get(industry_canonical="saas")
    edit(account, country="KP")
    after = AccountScore.objects.get(run=run, account=account)
    assert (after.score, after.tier, after.country_canonical) == (0, "DQ", "kp")
    assert after.changed_seq == changes_cursor(profile_id=icp.pk)
    assert copies(run) == own_columns()


def test_an_import_brings_the_copies_of_new_and_changed_accounts_in_step(
    manager: User, run: ScoringRun
) -> None:
    changed = Account.objects.get(industry_canonical="saas")
    accounts_import(
        actor=manager,
        rows=[
            {"external_id": changed.external_id, "industry": "Logistics", "country": "se"},
            {"external_id": "crm-new", "name": "New", "industry": "Media", "country": "GB"},
        ],
    )
    assert len(copies(run)) == 4
    assert copies(run) == own_columns()
    assert copies(run)[changed.pk] == ("logistics", "se")


def test_a_run_in_progress_holds_the_values_of_an_account_edited_meanwhile(
    icp: Profile, ops_manager: User, run: ScoringRun
) -> None:
    run.version.status = "superseded"
    run.version.save()
    version = approved_version(icp, 2, [100, 400])
    newer = services.run_create(profile=icp, version=version, actor=ops_manager)
    for low, high in services.run_plan(newer.pk, 2):
        services.run_score_chunk(newer.pk, low, high)
    edit(Account.objects.get(industry_canonical="saas"), industry="Media", country="FR")
    assert services.run_finish(newer.pk) is not None
    assert copies(newer) == own_columns()
    assert copies(run) == own_columns()


# --- The accounts page through the copies ----------------------------------------

INDUSTRIES = ["SaaS", "Media", "Logistics"]
COUNTRIES = ["DE", "US", "KP", "FR"]


@pytest.fixture
def base(icp: Profile, ops_manager: User) -> ScoringRun:
    """Thirty scored accounts over three industries and four countries
    (North Korea disqualified), scores 100, 60, 40 and 0; then six
    unscored ones."""
    for n in range(30):
        AccountFactory.create(
            name=f"Firm {n % 7}",
            industry=INDUSTRIES[n % 3],
            country=COUNTRIES[n % 4],
            employees=[450, 9, None][n // 3 % 3],
            has_revops=n % 2 == 0,
        )
    version = approved_version(icp, 1, [200, 2000])
    run = run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    assert run is not None
    for n in range(6):
        AccountFactory.create(name=f"Late {n}", industry=INDUSTRIES[n % 3], country="DE")
    return run


def as_filters(params: dict[str, str]) -> dict[str, Any]:
    """The page's query string as filters on account_list's own columns."""
    filters: dict[str, Any] = {}
    for name, value in params.items():
        if name in ("industry", "country", "crm"):
            filters[f"{name}_canonical"] = canonical(value)
        elif name == "q":  # no domain holds the words searched here
            filters["name__icontains"] = value
        elif name == "tier":
            filters["tier__in"] = [value]
        else:
            filters[{"score_min": "score__gte", "score_max": "score__lte"}[name]] = int(value)
    return filters


def every_page(client: Client, params: dict[str, str]) -> tuple[list[int], int]:
    """The ids of every page in turn, and the count the first page states."""
    first = client.get(reverse("account-list"), params)
    assert first.status_code == 200
    paginator = first.context["page"].paginator
    seen: list[int] = []
    for number in range(1, 40):
        page = client.get(reverse("account-list"), {**params, "page": str(number)})
        rows = [a.pk for a in page.context["page"]]
        if not rows or page.context["page"].number != number:
            break
        seen += rows
    return seen, paginator.count


@pytest.mark.parametrize(
    "params",
    [
        {"industry": "saas"},
        {"country": " kp "},
        {"industry": "SaaS", "tier": "A"},
        {"industry": "media", "tier": "C"},
        {"industry": "logistics", "tier": "DQ"},
        {"country": "US", "tier": "B", "score_min": "40", "score_max": "60"},
        {"industry": "logistics", "country": "de"},
        {"country": "FR", "score_min": "0", "score_max": "40"},
        {"industry": "media", "q": "firm 1"},
        {"crm": "hubspot", "country": "us"},
        {"q": "late", "country": "DE"},
    ],
)
@pytest.mark.parametrize("sort", ["", "score", "name", "-name"])
def test_a_page_filtered_by_category_lists_and_counts_what_the_accounts_columns_say(
    client: Client,
    rep: User,
    base: ScoringRun,
    params: dict[str, str],
    sort: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client.force_login(rep)
    whole = expected(base, sort, **as_filters(params))
    assert whole, params
    seen, count = every_page(client, {**params, "sort": sort})
    assert seen == whole
    assert count == len(whole)
    monkeypatch.setattr(views, "COUNT_CAP", 2)
    response = client.get(reverse("account-list"), {**params, "sort": sort})
    assert response.context["page"].paginator.count == min(len(whole), 3)
    assert [a.pk for a in response.context["page"]] == whole[:2]


def test_an_industry_lists_its_unscored_accounts_after_its_scored_ones(
    client: Client, rep: User, base: ScoringRun
) -> None:
    client.force_login(rep)
    response = client.get(reverse("account-list"), {"industry": "Media"})
    rows = list(response.context["page"])
    assert [a.score is None for a in rows] == [False] * 10 + [True] * 2
    assert {a.name for a in rows if a.score is None} == {"Late 1", "Late 4"}


# --- The migration that adds the copies ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_copies_of_every_run_and_indexes_the_current_one(
    icp: Profile, ops_manager: User
) -> None:
    AccountFactory.create(industry="SaaS", country="DE")
    AccountFactory.create(industry="Media", country="us")
    version = approved_version(icp, 1, [200, 2000])
    run = services.run_in_process(profile=icp, version=version, actor=ops_manager)
    assert run is not None
    table = score_tables.table(run.pk)
    copied = {f"{table}_industry_score", f"{table}_country_score"}
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("scoring", "0020_account_list_indexes")])
        MigrationExecutor(connection).migrate([("scoring", "0021_score_row_copies")])
        assert copies(run) == own_columns()
        assert sorted(copies(run).values()) == [("media", "us"), ("saas", "de")]
        if sql.partitioned():
            assert copied <= indexes_of(table)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
