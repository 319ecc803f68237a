"""The figures a draft is judged by (evidence) and the outcome validation
figures, each worked out by hand over a small account base.

Live v1 (tests/reviews/conftest.py): employees 200-2,000 (60 points), has
RevOps (40), North Korea disqualifies; tier A from 70 points, B from 40.
So with RevOps an account inside the range scores 100 (A) and one outside
it, or with no employee count, 40 (B); inside the range without RevOps is
60 (B); below 40 is C. v1 went live on APPROVED.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from profiles import services as profile_services
from profiles.models import Profile, ProfileVersion, User
from reviews import services
from reviews.evidence import Evidence, evidence_for, validation_for
from reviews.figures import Figures
from reviews.models import Override
from scoring import services as scoring_services
from scoring.models import Account, ScoringRun
from tests.factories import AccountFactory, DealFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db

APPROVED = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
AFTER = APPROVED + timedelta(days=60)
BEFORE = APPROVED - timedelta(days=30)


@pytest.fixture
def live(v1: ProfileVersion) -> ProfileVersion:
    """v1, approved on APPROVED."""
    ProfileVersion.objects.filter(pk=v1.pk).update(approved_at=APPROVED)
    v1.refresh_from_db()
    return v1


def go_live(profile: Profile, version: ProfileVersion, actor: User) -> ScoringRun:
    """Score every account created so far with the live version."""
    run = run_all(scoring_services.run_create(profile=profile, version=version, actor=actor))
    assert run is not None
    return run


def draft_of(
    profile: Profile,
    actor: User,
    *,
    employees: tuple[str, Any] | None = None,
    disqualified: list[str] | None = None,
) -> ProfileVersion:
    """A draft copied from the live version, with the employees criterion
    and the countries that disqualify changed when given."""
    draft = profile_services.version_start_draft(actor=actor, profile=profile)
    changes = {"employees": employees, "country": ("in", disqualified) if disqualified else None}
    for attribute, change in changes.items():
        if change is None:
            continue
        criterion = draft.criteria.get(attribute=attribute)
        draft.refresh_from_db()
        profile_services.criterion_update(
            actor=actor,
            criterion=criterion,
            revision=draft.revision,
            attribute=attribute,
            operator=change[0],
            value=change[1],
            points=criterion.points,
            kind=criterion.kind,
        )
    draft.refresh_from_db()
    return draft


def won(
    name: str, employees: int | None, amount: str, *, closed_at: datetime = AFTER, **kw: Any
) -> Account:
    """An account with one deal won at `closed_at`."""
    account = AccountFactory.create(name=name, employees=employees, **kw)
    DealFactory.create(account=account, status="won", amount=Decimal(amount), closed_at=closed_at)
    return account


def lost(name: str, employees: int | None, *, closed_at: datetime = AFTER, **kw: Any) -> Account:
    """An account with one deal lost at `closed_at`."""
    account = AccountFactory.create(name=name, employees=employees, **kw)
    DealFactory.create(account=account, status="lost", closed_at=closed_at)
    return account


def claim(
    rep: User, manager: User, profile: Profile, account: Account, tier: str, *, accept: bool = True
) -> Override:
    """A rep's override on the account, accepted by the rep's manager."""
    override = services.override_create(
        actor=rep, account=account, profile=profile, claimed_tier=tier, reason="too_strict"
    )
    if accept:
        services.override_accept(actor=manager, override=override)
    return override


def backtest(figures: Figures) -> dict[str, tuple[int, int, float | None, Decimal | None]]:
    """Per tier: closed deals, won deals, win rate, average won deal."""
    return {row.tier: (row.closed, row.won, row.win_rate, row.avg_deal) for row in figures.rows}


def outcomes(
    figures: Figures | None,
) -> dict[str, tuple[int, float | None, Decimal | None, int, int, float | None]]:
    """Per tier and in total: accounts, win rate, average won deal,
    customers, churned customers, churn rate."""
    assert figures is not None
    return {
        row.tier: (
            row.accounts,
            row.win_rate,
            row.avg_deal,
            row.customers,
            row.churned,
            row.churn_rate,
        )
        for row in [*figures.rows, figures.total]
    }


def spreads(evidence: Evidence) -> dict[str, dict[str, tuple[Any, ...]]]:
    """Per numeric criterion and group: below, within, above, unknown and
    the employee counts found below and above the range."""
    return {
        n.label: {
            s.group: (s.below, s.within, s.above, s.unknown, s.below_range, s.above_range)
            for s in n.spreads
        }
        for n in evidence.numeric
    }


# --- Agreement with accepted overrides ------------------------------------------------


def test_agreement_counts_the_accepted_overrides_the_draft_tiers_as_claimed(
    icp: Profile, live: ProfileVersion, rep: User, manager: User, ops_manager: User
) -> None:
    # v1 puts all three in B (outside 200-2,000, RevOps: 40); the draft's
    # 150-2,000 lifts Bolt (160) and Cask (190) to A but not Tiny (120).
    bolt = AccountFactory.create(name="Bolt", employees=160)
    cask = AccountFactory.create(name="Cask", employees=190)
    tiny = AccountFactory.create(name="Tiny", employees=120)
    rejected = AccountFactory.create(name="Rejected", employees=170)
    pending = AccountFactory.create(name="Pending", employees=180)
    won("Able", 450, "5000")  # a closed deal, no override: A under both
    go_live(icp, live, ops_manager)
    for account in (bolt, cask, tiny):
        claim(rep, manager, icp, account, "A")
    services.override_reject(
        actor=manager, override=claim(rep, manager, icp, rejected, "A", accept=False), note="No"
    )
    claim(rep, manager, icp, pending, "A", accept=False)
    draft = draft_of(icp, ops_manager, employees=("between", [150, 2000]))

    evidence = evidence_for(version=draft)

    # The draft agrees with Bolt and Cask: 2 of 3 = 0.6667; v1 with none.
    assert (evidence.live, evidence.since) == (live, APPROVED)
    assert (evidence.overrides, evidence.agree_draft, evidence.agree_live) == (3, 2, 0)
    assert evidence.agreement_rate == 0.6667
    assert evidence.live_agreement_rate == 0.0
    assert evidence.accounts == 4
    # Overridden accounts first, by name, then the closed deals; rejected
    # and pending claims are no evidence.
    assert [(r.name, r.live_tier, r.draft_tier, r.claimed, r.agrees) for r in evidence.rows] == [
        ("Bolt", "B", "A", "A", True),
        ("Cask", "B", "A", "A", True),
        ("Tiny", "B", "B", "A", False),
        ("Able", "A", "A", None, None),
    ]
    data = evidence.as_json()
    assert (data["accepted_overrides"], data["agreement_rate"]) == (3, 0.6667)
    assert (data["version"], data["live_version"]) == (draft.number, 1)


def test_agreement_is_n_of_n_when_the_draft_tiers_every_override_as_claimed(
    icp: Profile, live: ProfileVersion, rep: User, manager: User, ops_manager: User
) -> None:
    # Bolt (160) is B under v1, A under 150-2,000; Grand (450) is A under
    # both, and the rep says it is not a fit, which the draft's new Russia
    # disqualifier agrees with (not a fit counts as DQ).
    bolt = AccountFactory.create(name="Bolt", employees=160)
    grand = AccountFactory.create(name="Grand", employees=450, country="RU")
    go_live(icp, live, ops_manager)
    claim(rep, manager, icp, bolt, "A")
    claim(rep, manager, icp, grand, "not_a_fit")
    draft = draft_of(
        icp, ops_manager, employees=("between", [150, 2000]), disqualified=["KP", "RU"]
    )

    evidence = evidence_for(version=draft)

    assert (evidence.overrides, evidence.agree_draft, evidence.agree_live) == (2, 2, 0)
    assert (evidence.agreement_rate, evidence.live_agreement_rate) == (1.0, 0.0)
    assert [(r.name, r.live_tier, r.draft_tier, r.claimed, r.agrees) for r in evidence.rows] == [
        ("Bolt", "B", "A", "A", True),
        ("Grand", "A", "DQ", "DQ", True),
    ]


def test_agreement_is_zero_of_n_not_missing_when_the_draft_keeps_the_live_tiers(
    icp: Profile, live: ProfileVersion, rep: User, manager: User, ops_manager: User
) -> None:
    # The draft is an unchanged copy of v1: Bolt and Cask stay B, claimed A.
    bolt = AccountFactory.create(name="Bolt", employees=160)
    cask = AccountFactory.create(name="Cask", employees=190)
    go_live(icp, live, ops_manager)
    claim(rep, manager, icp, bolt, "A")
    claim(rep, manager, icp, cask, "A")

    evidence = evidence_for(version=draft_of(icp, ops_manager))

    assert (evidence.overrides, evidence.agree_draft) == (2, 0)
    assert evidence.agreement_rate == 0.0
    assert evidence.as_json()["agreement_rate"] == 0.0


def test_with_no_accepted_override_there_is_no_agreement_rate(
    client: Client, icp: Profile, live: ProfileVersion, rep: User, manager: User, ops_manager: User
) -> None:
    bolt = AccountFactory.create(name="Bolt", employees=160)
    go_live(icp, live, ops_manager)
    claim(rep, manager, icp, bolt, "A", accept=False)
    draft = draft_of(icp, ops_manager, employees=("between", [150, 2000]))

    evidence = evidence_for(version=draft)

    assert (evidence.accounts, evidence.overrides, evidence.agree_draft) == (0, 0, 0)
    assert (evidence.agreement_rate, evidence.live_agreement_rate) == (None, None)
    assert evidence.rows == []
    client.force_login(rep)
    page = client.get(reverse("version-evidence", args=[icp.slug, draft.number]))
    assert "No override has been accepted under v1." in page.content.decode()


def test_only_the_latest_accepted_claim_on_an_account_counts(
    icp: Profile, live: ProfileVersion, rep: User, manager: User, ops_manager: User
) -> None:
    # Bolt is claimed A, then C; the draft puts it in A, so it now disagrees.
    bolt = AccountFactory.create(name="Bolt", employees=160)
    go_live(icp, live, ops_manager)
    claim(rep, manager, icp, bolt, "A")
    claim(rep, manager, icp, bolt, "C")
    draft = draft_of(icp, ops_manager, employees=("between", [150, 2000]))

    evidence = evidence_for(version=draft)

    assert (evidence.accounts, evidence.overrides, evidence.agree_draft) == (1, 1, 0)
    assert [(r.claimed, r.draft_tier) for r in evidence.rows] == [("C", "A")]


# --- Backtest on closed deals ---------------------------------------------------------


def test_the_backtest_gives_win_rate_deal_size_and_lift_by_tier_for_live_and_draft(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    # Closed since v1 went live, with v1's tier / the draft's (150-1,000):
    won("Acme", 450, "10000")  # A / A
    won("Bolt", 160, "6000")  # B / A
    won("Cask", 180, "4000")  # B / A
    lost("Dune", 1500)  # A / B
    won("Echo", 5000, "20000")  # B / B
    lost("Fern", None)  # B / B: no employee count, RevOps only
    lost("Gale", 450, has_revops=False)  # B / B: 60 points
    lost("Kim", 450, country="KP")  # DQ / DQ
    # Not evidence: a deal won before v1 went live, an open deal, no deal.
    won("Old", 450, "50000", closed_at=BEFORE)
    DealFactory.create(account__name="Open", opened_at=AFTER)
    AccountFactory.create(name="Quiet")
    go_live(icp, live, ops_manager)
    draft = draft_of(icp, ops_manager, employees=("between", [150, 1000]))

    evidence = evidence_for(version=draft)

    assert evidence.accounts == 8
    # v1: A won 1 of 2 (10,000); B won 3 of 5 (6,000 + 4,000 + 20,000 = 30,000,
    # 10,000 each on average); DQ lost 1. In all 4 of 8 = 0.5, so A's 0.5 is a
    # lift of 1.0.
    assert backtest(evidence.backtest_live) == {
        "A": (2, 1, 0.5, Decimal("10000.00")),
        "B": (5, 3, 0.6, Decimal("10000.00")),
        "C": (0, 0, None, None),
        "DQ": (1, 0, 0.0, None),
    }
    assert evidence.backtest_live.total.win_rate == 0.5
    assert evidence.backtest_live.lift_a == 1.0
    # Draft: A won 3 of 3 (20,000 / 3 = 6,666.67); B won Echo's 20,000 of 4;
    # DQ lost 1. In all still 4 of 8 = 0.5, so A's 1.0 is a lift of 2.0.
    assert backtest(evidence.backtest_draft) == {
        "A": (3, 3, 1.0, Decimal("6666.67")),
        "B": (4, 1, 0.25, Decimal("20000.00")),
        "C": (0, 0, None, None),
        "DQ": (1, 0, 0.0, None),
    }
    assert evidence.backtest_draft.lift_a == 2.0
    # The page's table pairs each tier's live row with the draft's.
    paired = [(tier, old.won, new.won) for tier, old, new in evidence.backtest]
    assert paired == [("A", 1, 3), ("B", 3, 1), ("C", 0, 0), ("DQ", 0, 0)]
    data = evidence.as_json()["backtest"]
    assert (data["live"]["lift_a"], data["draft"]["lift_a"]) == (1.0, 2.0)
    assert data["draft"]["tiers"]["A"]["avg_deal"] == "6666.67"
    assert data["draft"]["total"]["won_amount"] == "40000.00"


def test_deals_closed_before_the_live_version_went_live_are_left_out(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    # All A under both versions. The deal closed the moment v1 was approved
    # counts; the one a second earlier does not.
    won("On the day", 450, "3000", closed_at=APPROVED)
    lost("Day before", 450, closed_at=APPROVED - timedelta(seconds=1))
    won("Last year", 450, "90000", closed_at=BEFORE)
    go_live(icp, live, ops_manager)

    evidence = evidence_for(version=draft_of(icp, ops_manager))

    assert evidence.accounts == 1
    assert [r.name for r in evidence.rows] == ["On the day"]
    for figures in (evidence.backtest_live, evidence.backtest_draft):
        assert backtest(figures)["A"] == (1, 1, 1.0, Decimal("3000.00"))
        assert figures.total.closed == 1


def test_without_closed_deals_there_is_no_win_rate_or_lift_to_divide_by(
    client: Client, icp: Profile, live: ProfileVersion, rep: User, ops_manager: User
) -> None:
    won("Last year", 450, "90000", closed_at=BEFORE)
    DealFactory.create(account__name="Open", opened_at=AFTER)
    go_live(icp, live, ops_manager)
    draft = draft_of(icp, ops_manager)

    evidence = evidence_for(version=draft)

    assert evidence.accounts == 0
    for figures in (evidence.backtest_live, evidence.backtest_draft):
        assert backtest(figures) == dict.fromkeys(["A", "B", "C", "DQ"], (0, 0, None, None))
        assert (figures.total.win_rate, figures.lift_a) == (None, None)
    assert evidence.as_json()["backtest"]["live"]["lift_a"] is None
    client.force_login(rep)
    page = client.get(reverse("version-evidence", args=[icp.slug, draft.number])).content.decode()
    assert 'data-testid="lift-live">\u2013<' in page
    assert 'data-testid="lift-draft">\u2013<' in page


def test_there_is_no_lift_without_closed_deals_in_tier_a(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    # Only B (Bolt, 160) and DQ (Kim) closed: a base rate of 1 of 2 but no
    # A deal to compare with it.
    won("Bolt", 160, "6000")
    lost("Kim", 450, country="KP")
    go_live(icp, live, ops_manager)

    evidence = evidence_for(version=draft_of(icp, ops_manager))

    assert evidence.backtest_live.total.win_rate == 0.5
    assert backtest(evidence.backtest_live)["A"] == (0, 0, None, None)
    assert evidence.backtest_live.lift_a is None


def test_there_is_no_lift_when_nothing_was_won(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    # A lost 1 of 1 and B 1 of 1: a base rate of 0, which lift cannot divide by.
    lost("Acme", 450)
    lost("Bolt", 160)
    go_live(icp, live, ops_manager)

    evidence = evidence_for(version=draft_of(icp, ops_manager))

    assert backtest(evidence.backtest_live)["A"] == (1, 0, 0.0, None)
    assert evidence.backtest_live.total.win_rate == 0.0
    assert evidence.backtest_live.lift_a is None


def test_a_won_deal_without_an_amount_is_left_out_of_the_average_deal_size(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    # Tier A won 3 deals, one with no amount recorded: the average is
    # (10,000 + 20,000) / 2, not 30,000 / 3. The win rate still counts all 3.
    won("Acme", 450, "10000")
    won("Arch", 300, "20000")
    DealFactory.create(
        account__name="Unpriced", account__employees=500, status="won", closed_at=AFTER
    )
    go_live(icp, live, ops_manager)

    evidence = evidence_for(version=draft_of(icp, ops_manager))

    assert backtest(evidence.backtest_live)["A"] == (3, 3, 1.0, Decimal("15000.00"))
    assert backtest(evidence.backtest_draft)["A"] == (3, 3, 1.0, Decimal("15000.00"))
    assert evidence.backtest_live.total.avg_deal == Decimal("15000.00")


def test_each_deal_counts_in_the_backtest_and_each_account_once_among_the_accounts(
    client: Client, icp: Profile, live: ProfileVersion, rep: User, ops_manager: User
) -> None:
    # Acme (A under both) renewed twice and lost an expansion since v1 went
    # live, won a deal in euros, won its first deal before; it has one open.
    acme = AccountFactory.create(name="Acme", employees=450)
    for status, amount, currency, closed_at in [
        ("won", "10000", "", AFTER),
        ("won", "14000", "", AFTER),
        ("lost", "3000", "", AFTER),
        ("won", "9000", "EUR", AFTER),
        ("won", "50000", "", BEFORE),
    ]:
        DealFactory.create(account=acme, status=status, amount=Decimal(amount),
                           currency=currency, closed_at=closed_at)  # fmt: skip
    DealFactory.create(account=acme, opened_at=AFTER)
    lost("Bolt", 160)  # B under both
    go_live(icp, live, ops_manager)
    draft = draft_of(icp, ops_manager)

    evidence = evidence_for(version=draft)

    # Two accounts; A closed 4 deals and won 3 of them, its average over the
    # two won in the reporting currency.
    assert evidence.accounts == 2
    for figures in (evidence.backtest_live, evidence.backtest_draft):
        assert backtest(figures)["A"] == (4, 3, 0.75, Decimal("12000.00"))
        assert (figures.get("A").accounts, figures.get("A").won_priced) == (1, 2)
        assert backtest(figures)["B"] == (1, 0, 0.0, None)
    assert [(r.name, r.won, r.lost, r.won_amount) for r in evidence.rows] == [
        ("Acme", 3, 1, Decimal("24000.00")),
        ("Bolt", 0, 1, None),
    ]
    # Acme counts once among the accounts that won a deal.
    assert spreads(evidence)["Employees is between 200 and 2,000"]["won"][:4] == (0, 1, 0, 0)
    client.force_login(rep)
    page = client.get(reverse("version-evidence", args=[icp.slug, draft.number])).content.decode()
    assert "3 won (24,000), 1 lost" in page
    assert "Accounts that won a deal" in page


def test_a_won_deal_in_another_currency_counts_as_won_but_not_in_the_average(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    DealFactory.create(account__name="Euro", account__employees=450, status="won",
                       amount=Decimal("8000"), currency="EUR", closed_at=AFTER)  # fmt: skip
    go_live(icp, live, ops_manager)

    evidence = evidence_for(version=draft_of(icp, ops_manager))

    assert backtest(evidence.backtest_live)["A"] == (1, 1, 1.0, None)
    assert evidence.backtest_live.get("A").won_amount == Decimal("0.00")
    assert [(r.won, r.won_amount) for r in evidence.rows] == [(1, None)]


# --- Where won and overridden accounts fall against the draft's thresholds -----------


def test_won_and_overridden_accounts_fall_below_within_and_above_the_drafts_range(
    icp: Profile, live: ProfileVersion, rep: User, manager: User, ops_manager: User
) -> None:
    # The draft keeps 200-2,000 while deals keep being won at 150-199
    # employees. Both ends of the range are inside it.
    for name, employees in [
        ("Won 150", 150),
        ("Won 199", 199),
        ("Won 200", 200),
        ("Won 2000", 2000),
        ("Won 2001", 2001),
        ("Won unknown", None),
    ]:
        won(name, employees, "1000")
    won("Won before", 100, "1000", closed_at=BEFORE)  # before v1: not counted
    lost("Lost 120", 120)  # lost: in neither group
    bolt = AccountFactory.create(name="Bolt", employees=160)  # B
    acme = AccountFactory.create(name="Acme", employees=450)  # A
    huge = AccountFactory.create(name="Huge", employees=3000)  # B
    blank = AccountFactory.create(name="Blank", employees=None)  # B
    turned_down = AccountFactory.create(name="Turned down", employees=100)  # B
    go_live(icp, live, ops_manager)
    claim(rep, manager, icp, bolt, "A")
    claim(rep, manager, icp, acme, "B")
    claim(rep, manager, icp, huge, "A")
    claim(rep, manager, icp, blank, "A")
    services.override_reject(
        actor=manager,
        override=claim(rep, manager, icp, turned_down, "A", accept=False),
        note="Too small",
    )
    draft = draft_of(icp, ops_manager)

    evidence = evidence_for(version=draft)

    # Won since v1: 150 and 199 below, 200 and 2,000 within, 2,001 above,
    # one unknown. Overridden: 160 below, 450 within, 3,000 above, one unknown.
    assert [(n.low, n.high) for n in evidence.numeric] == [(200, 2000)]
    assert spreads(evidence) == {
        "Employees is between 200 and 2,000": {
            "won": (2, 2, 1, 1, (150, 199), (2001, 2001)),
            "overridden": (1, 1, 1, 1, (160, 160), (3000, 3000)),
        }
    }
    assert evidence.as_json()["numeric"][0]["spreads"][0] == {
        "group": "won",
        "below": 2,
        "within": 2,
        "above": 1,
        "unknown": 1,
    }


def test_a_widened_range_takes_in_the_small_accounts_that_keep_winning(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    # The same wins against a draft of 150-1,000: 150 and 199 are inside now,
    # 2,000 and 2,001 above it.
    for name, employees in [("Won 150", 150), ("Won 199", 199), ("Won 2000", 2000)]:
        won(name, employees, "1000")
    won("Won 2001", 2001, "1000")
    go_live(icp, live, ops_manager)
    draft = draft_of(icp, ops_manager, employees=("between", [150, 1000]))

    evidence = evidence_for(version=draft)

    assert spreads(evidence) == {
        "Employees is between 150 and 1,000": {
            "won": (0, 2, 2, 0, None, (2000, 2001)),
            "overridden": (0, 0, 0, 0, None, None),
        }
    }


def test_each_numeric_criterion_of_the_draft_gets_its_own_spread(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    # The draft adds annual revenue of at least 50 million.
    won("Small", 150, "1000", annual_revenue=10_000_000)
    won("Big", 450, "1000", annual_revenue=90_000_000)
    won("Unknown", 3000, "1000", annual_revenue=None)
    go_live(icp, live, ops_manager)
    draft = draft_of(icp, ops_manager)
    profile_services.criterion_add(
        actor=ops_manager,
        version=draft,
        revision=draft.revision,
        attribute="annual_revenue",
        operator="gte",
        value=50_000_000,
    )

    evidence = evidence_for(version=draft)

    assert spreads(evidence) == {
        "Employees is between 200 and 2,000": {
            "won": (1, 1, 1, 0, (150, 150), (3000, 3000)),
            "overridden": (0, 0, 0, 0, None, None),
        },
        "Annual revenue is at least 50,000,000": {
            "won": (1, 1, 0, 1, (10_000_000, 10_000_000), None),
            "overridden": (0, 0, 0, 0, None, None),
        },
    }


@pytest.mark.parametrize(
    ("operator", "value", "label", "low", "high", "expected"),
    [
        # At least 200: 150 below; 200 and 5,000 within; nothing can be above.
        ("gte", 200, "Employees is at least 200", 200, None, (1, 2, 0, 1, (150, 150), None)),
        # At most 200: 150 and 200 within; 5,000 above; nothing can be below.
        ("lte", 200, "Employees is at most 200", None, 200, (0, 2, 1, 1, None, (5000, 5000))),
    ],
)
def test_a_one_sided_threshold_has_only_one_side_to_fall_outside(
    icp: Profile,
    live: ProfileVersion,
    ops_manager: User,
    operator: str,
    value: int,
    label: str,
    low: int | None,
    high: int | None,
    expected: tuple[Any, ...],
) -> None:
    for employees in (150, 200, 5000, None):
        won(f"Won {employees}", employees, "1000")
    go_live(icp, live, ops_manager)
    draft = draft_of(icp, ops_manager, employees=(operator, value))

    evidence = evidence_for(version=draft)

    assert [(n.label, n.low, n.high) for n in evidence.numeric] == [(label, low, high)]
    assert spreads(evidence)[label]["won"] == expected


# --- Nothing to weigh -----------------------------------------------------------------


def test_a_profile_with_nothing_live_has_no_evidence(icp: Profile, ops_manager: User) -> None:
    won("Acme", 450, "1000")
    draft = profile_services.version_start_draft(actor=ops_manager, profile=icp)

    evidence = evidence_for(version=draft)

    assert (evidence.live, evidence.run, evidence.since) == (None, None, None)
    assert (evidence.accounts, evidence.overrides, evidence.agreement_rate) == (0, 0, None)
    assert (evidence.rows, evidence.numeric) == ([], [])
    assert evidence.backtest_live.lift_a is None
    assert evidence.as_json()["live_version"] is None


# --- Outcome validation ----------------------------------------------------------------


def test_validation_gives_tiers_win_rate_deal_size_and_churn_for_live_and_draft(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    # All outcomes count, whenever they happened. v1's tier / the draft's (150-1,000):
    won("Acme", 450, "10000", churned_at=AFTER)  # A / A, churned
    won("Arch", 300, "30000", closed_at=BEFORE)  # A / A
    won("Bolt", 160, "6000")  # B / A
    lost("Dune", 1500)  # A / B
    won("Echo", 5000, "20000", churned_at=AFTER)  # B / B, churned
    AccountFactory.create(name="Fern", employees=None)  # B / B: no employee count
    # A customer from before any recorded deal, who left: C / C (0 points).
    AccountFactory.create(name="Lapsed", employees=50, has_revops=None, churned_at=BEFORE)
    won("Kim", 450, "8000", country="KP")  # DQ / DQ
    run = go_live(icp, live, ops_manager)
    draft = draft_of(icp, ops_manager, employees=("between", [150, 1000]))

    validation = validation_for(run=run, draft=draft)

    # (accounts, win rate, average deal, customers, churned, churn rate)
    # v1: A won Acme and Arch and lost Dune: 2 of 3, (10,000 + 30,000) / 2;
    # both are customers, Acme churned. B won Bolt and Echo: 2 of 2,
    # (6,000 + 20,000) / 2; Echo churned. C: Lapsed, no deal, churned.
    # DQ: Kim won 8,000 and stayed. In all 5 of 6 won (74,000), 3 of 6
    # customers churned.
    assert outcomes(validation.live_figures) == {
        "A": (3, 0.6667, Decimal("20000.00"), 2, 1, 0.5),
        "B": (3, 1.0, Decimal("13000.00"), 2, 1, 0.5),
        "C": (1, None, None, 1, 1, 1.0),
        "DQ": (1, 1.0, Decimal("8000.00"), 1, 0, 0.0),
        "all": (8, 0.8333, Decimal("14800.00"), 6, 3, 0.5),
    }
    # Draft: A is Acme, Arch and Bolt: 3 of 3, 46,000 / 3 = 15,333.33, one
    # of three customers churned. B is Dune, Echo and Fern: 1 of 2, 20,000,
    # its one customer churned.
    assert outcomes(validation.draft_figures) == {
        "A": (3, 1.0, Decimal("15333.33"), 3, 1, 0.3333),
        "B": (3, 0.5, Decimal("20000.00"), 1, 1, 1.0),
        "C": (1, None, None, 1, 1, 1.0),
        "DQ": (1, 1.0, Decimal("8000.00"), 1, 0, 0.0),
        "all": (8, 0.8333, Decimal("14800.00"), 6, 3, 0.5),
    }
    # Lift of A over the 0.8333 base rate: 0.6667 / 0.8333 and 1.0 / 0.8333.
    data = validation.as_json()
    assert (data["live_version"], data["draft_version"]) == (1, draft.number)
    assert (data["live"]["lift_a"], data["draft"]["lift_a"]) == (0.8, 1.2)
    assert data["live"]["tiers"]["C"]["churn_rate"] == 1.0


def test_validation_without_a_draft_or_a_run_leaves_that_side_empty(
    icp: Profile, live: ProfileVersion, ops_manager: User
) -> None:
    won("Acme", 450, "10000")
    run = go_live(icp, live, ops_manager)

    live_only = validation_for(run=run, draft=None)
    nothing = validation_for(run=None, draft=None)

    assert outcomes(live_only.live_figures)["A"] == (1, 1.0, Decimal("10000.00"), 1, 0, 0.0)
    assert (live_only.draft, live_only.draft_figures) == (None, None)
    assert live_only.as_json()["draft"] is None
    assert nothing.as_json() == {
        "live_version": None,
        "draft_version": None,
        "live": None,
        "draft": None,
    }
