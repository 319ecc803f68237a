"""Which edits are suggested, and with what evidence, on a small base
counted by hand (the minimum evidence lowered to 5 deals and 2 overrides).

The version: "Industry is one of SaaS" (50 points) and "Employees is at
least 200" (50). Every account has 450 employees and one deal closed in
the window:
- 20 SaaS on HubSpot, all won;        - 20 Fintech on HubSpot, all won;
- 40 Media on Zoho, 4 won, 36 lost;   - 30 Consumer on Zoho, all lost, churned.
Base: 44 won of 110 (40%; Wilson 31.3%-49.4%).
So: Fintech (20/20, interval 83.9%-100%) clears high and is added to the
industry criterion; HubSpot (40/40) against the rest (4/70) clears as a
new CRM criterion; Consumer (0/30, interval up to 11.4%, under half of
31.3%) becomes a disqualifier; Media (4/40) clears low but no criterion
includes it. Nothing is proposed for removal: SaaS accounts win 20/20
against 24/90, and every account has 450 employees (no accounts to compare).
Three accepted overrides claim tier A for Dutch Education accounts without
deals: a cluster, so "Country is one of NL" and adding Education are
suggested on their word (every account is Series B, so that value, on all
three overridden accounts too, is not).
"""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from profiles.models import ProfileVersion
from reviews.models import Override, OverrideStatus
from reviews.suggestions.model import EditKind, Suggestion, Suggestions
from reviews.suggestions.suggest import suggestions_for
from reviews.suggestions.window import Window
from scoring.models import Account, DealState
from tests.factories import (
    AccountFactory,
    CriterionFactory,
    DealFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    VersionFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()
WINDOW = Window(NOW - timedelta(days=200), NOW)
CLOSED = NOW - timedelta(days=100)


def _accounts(count: int, won: int, **values: Any) -> list[Account]:
    accounts = []
    for i in range(count):
        account = AccountFactory.create(**values)
        DealFactory(
            account=account,
            status=DealState.WON if i < won else DealState.LOST,
            closed_at=CLOSED,
        )
        accounts.append(account)
    return accounts


@pytest.fixture
def suggestions(settings: Settings) -> Suggestions:
    settings.REVIEWS_LIFT_MIN_DEALS = 5
    settings.REVIEWS_CLUSTER_MIN_OVERRIDES = 2
    version: ProfileVersion = VersionFactory.create(
        status="approved", approved_at=NOW - timedelta(days=300)
    )
    CriterionFactory(
        version=version, attribute="industry", operator="in", value=["SaaS"], points=50
    )
    CriterionFactory(version=version, attribute="employees", operator="gte", value=200, points=50)
    _accounts(20, 20, industry="SaaS", crm="HubSpot")
    _accounts(20, 20, industry="Fintech", crm="HubSpot")
    _accounts(40, 4, industry="Media", crm="Zoho")
    _accounts(30, 0, industry="Consumer", crm="Zoho", churned_at=CLOSED)
    rep, manager = UserFactory.create(), UserFactory.create()
    team = TeamFactory.create()
    MembershipFactory(user=rep, team=team)
    for _ in range(3):
        Override.objects.create(
            account=AccountFactory.create(industry="Education", crm="", country="NL"),
            profile=version.profile,
            version=version,
            rep=rep,
            logged_by=rep,
            team=team,
            machine_tier="C",
            claimed_tier="A",
            reason="too_strict",
            status=OverrideStatus.ACCEPTED,
            reviewed_by=manager,
            reviewed_at=CLOSED,
        )
    return suggestions_for(version=version, window=WINDOW)


def _one(found: Suggestions, kind: EditKind, attribute: str, value: str = "") -> Suggestion:
    matches = [
        s
        for s in found.shown
        if s.kind == kind
        and s.attribute == attribute
        and (not value or value in [v.label for v in s.values])
    ]
    assert len(matches) == 1, [(s.kind, s.attribute, s.change) for s in found.shown]
    return matches[0]


def test_a_high_value_the_criterion_leaves_out_is_added_to_it(suggestions: Suggestions) -> None:
    fintech = _one(suggestions, EditKind.ADD_VALUE, "industry", "Fintech")
    assert fintech.change == "Add Fintech to “Industry is one of SaaS”"
    (value,) = fintech.values
    assert (value.outcomes.won, value.outcomes.closed) == (20, 20)
    assert value.lift == pytest.approx(20 / 20 / (44 / 110))
    (change,) = fintech.changes
    assert change.after is not None
    assert change.after.value == ["SaaS", "Fintech"]
    assert change.after.points == 50
    # Fintech's 20 won deals move from tier B to tier A; nothing else moves.
    assert fintech.effect.before.get("A").won == 20
    assert fintech.effect.after.get("A").won == 40
    assert fintech.effect.moved == 20
    assert fintech.effect.auc_gain > 0


def test_the_values_that_win_become_a_new_criterion_judged_against_the_rest(
    suggestions: Suggestions,
) -> None:
    crm = _one(suggestions, EditKind.ADD_CRITERION, "crm")
    added = next(c.after for c in crm.changes if c.before is None)
    assert added is not None
    assert added.value == ["HubSpot"]
    assert 0 < added.points < 100
    assert sum(c.after.points for c in crm.changes if c.after is not None) == 100
    assert "won 100% of 40 closed deals, the others 6% of 70" in crm.sentence


def test_a_value_that_never_wins_and_churns_becomes_a_disqualifier(
    suggestions: Suggestions,
) -> None:
    consumer = _one(suggestions, EditKind.ADD_DISQUALIFIER, "industry")
    assert consumer.change == "Add disqualifier “Industry is one of Consumer”"
    assert consumer.effect.after.get("DQ").lost == 30
    assert consumer.effect.after.get("DQ").won == 0


def test_accepted_overrides_alone_make_a_suggestion_and_are_listed(
    suggestions: Suggestions,
) -> None:
    netherlands = _one(suggestions, EditKind.ADD_CRITERION, "country")
    assert len(netherlands.overrides) == 3
    assert netherlands.overrides_agreeing == 3
    assert {o.claimed_tier for o in netherlands.overrides} == {"A"}
    assert "3 accepted overrides claim a higher tier" in netherlands.sentence
    education = _one(suggestions, EditKind.ADD_VALUE, "industry", "Education")
    assert len(education.overrides) == 3
    assert not [s for s in suggestions.shown if s.attribute == "funding_stage"]


def test_nothing_that_separates_is_proposed_for_removal(suggestions: Suggestions) -> None:
    kinds = {s.kind for s in suggestions.shown + suggestions.not_enough}
    assert EditKind.REMOVE_CRITERION not in kinds
    assert not [s for s in suggestions.shown if s.kind == EditKind.REMOVE_VALUE]
