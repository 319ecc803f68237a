"""Attribute lift against figures counted by hand over a few accounts.

Reference Wilson bounds below were computed by the formula, not by the code
under test: with p = k/n and z = 1.959963984540054 (95%),

    centre = (p + z²/2n) / (1 + z²/n)
    half   = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)
    bounds = centre - half, centre + half

and rounded to 4 decimals: 5/11 -> (0.2127, 0.7199), 4/7 -> (0.2505, 0.8418),
0/3 -> (0.0, 0.5615), 1/1 -> (0.2065, 1.0), 2/6 -> (0.0968, 0.7),
3/6 -> (0.1876, 0.8124), 2/3 -> (0.2077, 0.9385), 2/4 -> (0.15, 0.85),
27/30 -> (0.7438, 0.9654), 3/30 -> (0.0346, 0.2562), 15/30 -> (0.3315, 0.6685),
74/119 -> (0.5322, 0.7039).

The cast (window: the last 100 days; "in" = closed or churned inside it):
- One: SaaS, 150 employees, slack and dbt, RevOps; won 10,000 and 20,000 and
  lost one in; won a deal before the window.
- Two: "saas " (SaaS once compared), 300, slack, no RevOps; won 30,000 in
  euros and lost two in; churned in.
- Three: SaaS, 450, no tools, RevOps unknown; won one without an amount in,
  and has one open.
- Four: Fintech, 900, dbt, RevOps; lost three in; churned before the window.
- Five: no industry, no headcount, no tools; won 5,000 in.
- Six: Fintech, 2,500, no tools; lost one before the window.
Overrides accepted in: Five C -> A (higher), Six A -> C and Four C -> not a fit
(lower). Not counted: One's accepted before the window, Six's pending one.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from pytest_django.fixtures import Settings

from profiles.models import Profile, ProfileVersion, Team, Trait, User
from reviews.models import Override, OverrideStatus
from reviews.suggestions.lift import (
    Lift,
    Outcomes,
    UnknownAttributeError,
    ValueLift,
    lift_for,
)
from reviews.suggestions.stats import Standing
from reviews.suggestions.window import Window, window_for
from scoring.models import Account, Deal
from tests.factories import AccountFactory, DealFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
WINDOW = Window(NOW - timedelta(days=100), NOW)
INSIDE = NOW - timedelta(days=10)
BEFORE = NOW - timedelta(days=200)


def account(name: str, **kw: Any) -> Account:
    return AccountFactory.create(name=name, **kw)


def deal(on: Account, status: str, *, closed: datetime | None = INSIDE, **kw: Any) -> None:
    DealFactory.create(
        account=on, status=status, closed_at=None if status == "open" else closed, **kw
    )


def override(
    on: Account,
    version: ProfileVersion,
    people: tuple[User, User, Team],
    machine: str,
    claimed: str,
    *,
    status: str = OverrideStatus.ACCEPTED,
    reviewed: datetime = INSIDE,
) -> None:
    rep, manager, team = people
    Override.objects.create(
        account=on,
        profile=version.profile,
        version=version,
        rep=rep,
        logged_by=rep,
        team=team,
        machine_tier=machine,
        claimed_tier=claimed,
        reason="too_strict",
        status=status,
        reviewed_by=manager if status != OverrideStatus.PENDING else None,
        reviewed_at=reviewed if status != OverrideStatus.PENDING else None,
    )


@pytest.fixture
def cast(v1: ProfileVersion, rep: User, manager: User, sales: Team) -> None:
    people = (rep, manager, sales)
    one = account(
        "One", industry="SaaS", employees=150, tech_stack=["slack", "dbt"], has_revops=True
    )
    deal(one, "won", amount=Decimal(10000))
    deal(one, "won", amount=Decimal(20000))
    deal(one, "lost")
    deal(one, "won", closed=BEFORE, amount=Decimal(99000))
    two = account(
        "Two",
        industry="saas ",
        employees=300,
        tech_stack=["slack"],
        has_revops=False,
        churned_at=INSIDE,
    )
    deal(two, "won", amount=Decimal(30000), currency="EUR")
    deal(two, "lost")
    deal(two, "lost")
    three = account("Three", industry="SaaS", employees=450, tech_stack=[], has_revops=None)
    deal(three, "won")
    deal(three, "open", amount=Decimal(7000))
    four = account(
        "Four",
        industry="Fintech",
        employees=900,
        tech_stack=["dbt"],
        has_revops=True,
        churned_at=BEFORE,
    )
    for _ in range(3):
        deal(four, "lost")
    five = account("Five", industry="", employees=None, tech_stack=[], has_revops=None)
    deal(five, "won", amount=Decimal(5000))
    six = account("Six", industry="Fintech", employees=2500, tech_stack=[], has_revops=None)
    deal(six, "lost", closed=BEFORE)
    override(five, v1, people, "C", "A")
    override(six, v1, people, "A", "C")
    override(four, v1, people, "C", "not_a_fit")
    override(one, v1, people, "B", "A", reviewed=BEFORE)
    override(six, v1, people, "A", "not_a_fit", status=OverrideStatus.PENDING)


@pytest.fixture
def lift(icp: Profile, cast: None) -> Lift:
    return lift_for(profile=icp, window=WINDOW)


def rates(value: ValueLift) -> tuple[Any, ...]:
    """(label, closed, won, win rate, Wilson low, Wilson high, lift), rounded to 4 decimals."""
    o = value.outcomes
    interval = o.win_interval
    assert interval is not None
    return (
        value.label,
        o.closed,
        o.won,
        round(o.win_rate or 0, 4),
        round(interval.low, 4),
        round(interval.high, 4),
        None if value.lift is None else round(value.lift, 4),
    )


def rows(lift: Lift, key: str) -> list[tuple[Any, ...]]:
    return [rates(v) for v in lift.get(key).values]


def test_the_base_counts_every_closed_deal_in_the_window_once(lift: Lift) -> None:
    base = lift.base
    interval = base.win_interval
    assert interval is not None
    # Won: One 2, Two 1, Three 1, Five 1; lost: One 1, Two 2, Four 3.
    assert (base.accounts, base.won, base.lost, base.closed) == (5, 5, 6, 11)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2127, 0.7199)
    # One's 10,000 and 20,000 and Five's 5,000: Two's euros and Three's
    # missing amount are not deals of a known size.
    assert base.avg_deal == Decimal("11666.67")
    # Customers: One, Two, Three, Five (Four churned before, Six never won).
    assert (base.customers, base.churned, base.churn_rate) == (4, 1, 0.25)
    assert (base.claimed_higher, base.claimed_lower) == (1, 2)


def test_categories_group_in_canonical_form_shown_in_the_commonest_spelling(lift: Lift) -> None:
    assert rows(lift, "industry") == [
        # One, Two and Three: 4 of 7; lift (4/7) / (5/11) = 44/35.
        ("SaaS", 7, 4, 0.5714, 0.2505, 0.8418, 1.2571),
        ("Fintech", 3, 0, 0.0, 0.0, 0.5615, 0.0),
        ("unknown", 1, 1, 1.0, 0.2065, 1.0, 2.2),
    ]
    saas, fintech, unknown = lift.get("industry").values
    assert saas.value == "saas"
    assert unknown.value is None
    assert saas.outcomes.avg_deal == Decimal("15000.00")
    assert (saas.outcomes.customers, saas.outcomes.churned) == (3, 1)
    assert saas.outcomes.churn_rate == pytest.approx(1 / 3)
    # Four churned before the window and Six never won: no customers.
    assert (fintech.outcomes.accounts, fintech.outcomes.customers) == (1, 0)
    assert fintech.outcomes.churn_rate is None
    assert (fintech.outcomes.claimed_higher, fintech.outcomes.claimed_lower) == (0, 2)
    assert (unknown.outcomes.claimed_higher, unknown.outcomes.claimed_lower) == (1, 0)


def test_list_items_count_each_account_holding_them(lift: Lift) -> None:
    assert rows(lift, "tech_stack") == [
        ("dbt", 6, 2, 0.3333, 0.0968, 0.7, 0.7333),  # One and Four
        ("slack", 6, 3, 0.5, 0.1876, 0.8124, 1.1),  # One and Two
        ("unknown", 2, 2, 1.0, 0.3424, 1.0, 2.2),  # Three and Five (Six closed none)
    ]


def test_yes_no_attributes_show_yes_no_and_unknown(lift: Lift) -> None:
    assert rows(lift, "has_revops") == [
        ("yes", 6, 2, 0.3333, 0.0968, 0.7, 0.7333),  # One and Four
        ("no", 3, 1, 0.3333, 0.0615, 0.7923, 0.7333),  # Two
        ("unknown", 2, 2, 1.0, 0.3424, 1.0, 2.2),  # Three and Five
    ]


def test_numbers_fall_in_readable_quantile_buckets(lift: Lift) -> None:
    # The accounts that closed a deal in the window have 150, 300, 450 and
    # 900 employees: four tiles whose least values 300, 450 and 900 round
    # down to 200, 200 and 500.
    employees = lift.get("employees")
    assert [(b.low, b.high, b.label) for b in employees.buckets] == [
        (None, Decimal(200), "under 200"),
        (Decimal(200), Decimal(500), "200-499"),
        (Decimal(500), None, "500+"),
    ]
    assert rows(lift, "employees") == [
        ("under 200", 3, 2, 0.6667, 0.2077, 0.9385, 1.4667),  # One
        ("200-499", 4, 2, 0.5, 0.15, 0.85, 1.1),  # Two and Three
        ("500+", 3, 0, 0.0, 0.0, 0.5615, 0.0),  # Four, and Six (no deal in the window)
        ("unknown", 1, 1, 1.0, 0.2065, 1.0, 2.2),  # Five
    ]


def test_no_value_in_the_small_cast_clears_the_minimum(lift: Lift) -> None:
    standings = {v.standing for a in lift.attributes for v in a.values}
    assert standings == {Standing.TOO_FEW_DEALS}
    assert all(not a.clearing for a in lift.attributes)


def test_a_window_counts_its_start_and_not_its_end(icp: Profile) -> None:
    edge = account("Edge", industry="SaaS")
    deal(edge, "won", closed=WINDOW.start)
    deal(edge, "lost", closed=WINDOW.end)
    deal(edge, "lost", closed=WINDOW.start - timedelta(seconds=1))
    base = lift_for(profile=icp, window=WINDOW, keys=["industry"]).base
    assert (base.won, base.lost) == (1, 0)


def test_it_refuses_an_attribute_it_does_not_know(icp: Profile) -> None:
    with pytest.raises(UnknownAttributeError, match="'seats'"):
        lift_for(profile=icp, window=WINDOW, keys=["seats"])


def test_declared_traits_group_like_built_ins(icp: Profile) -> None:
    for key, type_ in (
        ("segment", "category"),
        ("seats", "number"),
        ("tools", "list"),
        ("sso", "boolean"),
    ):
        Trait.objects.create(key=key, label=key.title(), type=type_, category="firmographic")
    big = account(
        "Big", traits={"segment": "Enterprise", "seats": 1200, "tools": ["okta"], "sso": True}
    )
    small = account(
        "Small", traits={"segment": "Enterprise", "seats": 40, "tools": ["okta"], "sso": False}
    )
    mid = account("Mid", traits={"segment": "enterprise "})
    other = account("Other", traits={"segment": "SMB"})
    deal(big, "won")
    deal(big, "won")
    deal(small, "lost")
    deal(mid, "lost")
    deal(other, "lost")
    lift = lift_for(profile=icp, window=WINDOW, keys=["segment", "seats", "tools", "sso"])

    def won(key: str) -> list[tuple[str, int, int]]:
        return [(v.label, v.outcomes.won, v.outcomes.closed) for v in lift.get(key).values]

    assert won("segment") == [("Enterprise", 2, 4), ("SMB", 0, 1)]
    # Seats 40 and 1,200: one cut, 1,200, rounds down to 1,000.
    assert won("seats") == [("under 1,000", 0, 1), ("1,000+", 2, 2), ("unknown", 0, 2)]
    assert won("tools") == [("okta", 2, 3), ("unknown", 0, 2)]
    assert won("sso") == [("yes", 2, 2), ("no", 0, 1), ("unknown", 0, 2)]


@pytest.fixture
def many_deals(db: None) -> None:
    """SaaS won 27 of 30, Retail 3 of 30, Media 29 of 29, Logistics 15 of 30:
    the base is 74 of 119 (0.5322-0.7039)."""
    deals = []
    for industry, won_n, closed in (
        ("SaaS", 27, 30),
        ("Retail", 3, 30),
        ("Media", 29, 29),
        ("Logistics", 15, 30),
    ):
        holder = account(industry, industry=industry)
        deals += [
            Deal(
                external_id=f"{industry}-{i}",
                account=holder,
                status="won" if i < won_n else "lost",
                closed_at=INSIDE,
            )
            for i in range(closed)
        ]
    Deal.objects.bulk_create(deals)


def test_the_minimum_needs_enough_deals_and_an_interval_clear_of_the_base(
    icp: Profile, many_deals: None
) -> None:
    industry = lift_for(profile=icp, window=WINDOW, keys=["industry"]).get("industry")
    assert [(*rates(v)[:6], v.standing) for v in industry.values] == [
        # Most closed deals first, then by name.
        ("Logistics", 30, 15, 0.5, 0.3315, 0.6685, Standing.OVERLAPS_BASE),
        # 0.2562 is below the base's 0.5322, 0.7438 above its 0.7039.
        ("Retail", 30, 3, 0.1, 0.0346, 0.2562, Standing.CLEARS),
        ("SaaS", 30, 27, 0.9, 0.7438, 0.9654, Standing.CLEARS),
        # One deal short of 30, however far above the base.
        ("Media", 29, 29, 1.0, 0.883, 1.0, Standing.TOO_FEW_DEALS),
    ]
    assert [v.label for v in industry.clearing] == ["Retail", "SaaS"]


def test_the_minimum_deal_count_is_a_setting(
    icp: Profile, many_deals: None, settings: Settings
) -> None:
    settings.REVIEWS_LIFT_MIN_DEALS = 29
    industry = lift_for(profile=icp, window=WINDOW, keys=["industry"]).get("industry")
    assert industry.values[-1].label == "Media"
    assert industry.values[-1].standing == Standing.CLEARS


def test_the_default_window_reaches_back_to_the_approval_or_a_year(
    icp: Profile, v1: ProfileVersion, settings: Settings
) -> None:
    settings.REVIEWS_LIFT_MIN_WINDOW_DAYS = 365
    assert window_for(profile=icp, now=NOW) == Window(NOW - timedelta(days=365), NOW)
    v1.approved_at = NOW - timedelta(days=500)
    v1.save(update_fields=["approved_at"])
    assert window_for(profile=icp, now=NOW) == Window(NOW - timedelta(days=500), NOW)
    since = NOW - timedelta(days=7)
    assert window_for(profile=icp, since=since, now=NOW) == Window(since, NOW)


def test_a_window_must_start_before_it_ends() -> None:
    with pytest.raises(ValueError, match="starts before it ends"):
        Window(NOW, NOW)


def test_an_empty_base_gives_no_rates(icp: Profile) -> None:
    lift = lift_for(profile=icp, window=WINDOW, keys=["employees"])
    assert lift.base == Outcomes()
    assert lift.base.win_rate is None
    assert lift.base.win_interval is None
    [only] = lift.get("employees").values
    assert (only.label, only.lift, only.standing) == ("any value", None, Standing.TOO_FEW_DEALS)


# --- The command ------------------------------------------------------------------


def command(*args: str) -> str:
    out = StringIO()
    call_command("attribute_lift", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_each_value_with_its_figures(icp: Profile, cast: None) -> None:
    since = (NOW - timedelta(days=100)).date().isoformat()
    printed = command("--profile", icp.slug, "--since", since, "--attribute", "industry")
    lines = printed.splitlines()
    assert "11 closed deals, win rate 45.5% (21.3%-72.0%)" in printed
    saas = next(line for line in lines if line.startswith("SaaS"))
    assert saas.split() == [
        "SaaS",
        "7",
        "4",
        "57.1%",
        "(25.0%-84.2%)",
        "1.26",
        "33.3%",
        "of",
        "3",
        "15,000",
        "+0",
        "/",
        "-0",
        "not",
        "enough",
        "evidence",
        "yet",
    ]
    assert "Employees" not in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "nope"], "No profile with the slug 'nope'"),
        (["--since", "last week"], "--since 'last week' is not a date"),
        (["--since", "2999-01-01"], "--since: A window starts before it ends"),
        (["--attribute", "seats"], "--attribute: No attribute 'seats'"),
    ],
)
def test_the_command_names_what_is_wrong(icp: Profile, args: list[str], message: str) -> None:
    if args[0] != "--profile":
        args = ["--profile", icp.slug, *args]
    with pytest.raises(CommandError, match=message):
        command(*args)
