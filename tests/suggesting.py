"""Suggestions built by hand for the tests of what shows and adopts them.

`usual_suggestions(version)` holds, for a version with FIT_100's criteria:
- "industry-fintech" (shown): add Fintech to the industries;
- "drop-funding" (shown): remove the funding stage criterion;
- "country-de" (shown): add "Country is one of DE", 10 points, the others
  scaled down to make room (points only);
- "crm-pipedrive" (not enough evidence yet): add Pipedrive to the CRMs;
- the re-weighting (key "reweight", shown last): employees 30 -> 40, CRM
  25 -> 15.

The `engine` fixture has the engine answer them for any version (and fit
the re-weighting's points again to what it says), so a test sees exactly
what it built; adoption_changes is the engine's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from profiles.models import Criterion, ProfileVersion
from reviews.suggestions import suggest
from reviews.suggestions.lift import Outcomes, ValueLift
from reviews.suggestions.model import (
    Backtest,
    Change,
    EditKind,
    Effect,
    OverrideRef,
    PointsRow,
    Reweighting,
    Suggestion,
    Suggestions,
    TierRate,
)
from reviews.suggestions.model import Criterion as Proposed
from reviews.suggestions.stats import Standing
from reviews.suggestions.window import Window

NOW = timezone.now()
WINDOW = Window(NOW - timedelta(days=365), NOW)
BASE = Outcomes(accounts=300, won=120, lost=180)


def value(label: str, won: int, lost: int, standing: Standing = Standing.CLEARS) -> ValueLift:
    outcomes = Outcomes(accounts=won + lost, won=won, lost=lost)
    rate = outcomes.win_rate
    base = BASE.win_rate
    lift = rate / base if rate is not None and base else None
    return ValueLift(label, label, outcomes, lift, standing)


def backtest(**tiers: tuple[int, int]) -> Backtest:
    """`A=(won, lost)` per tier; accounts 10 a tier."""
    return Backtest(
        [TierRate(t, won, lost) for t, (won, lost) in tiers.items()],
        auc=0.7,
        accounts=dict.fromkeys(tiers, 10),
    )


BEFORE = backtest(A=(20, 20), B=(15, 30), C=(5, 40))


def proposed(criterion: Criterion, **changed: Any) -> Proposed:
    fields = {
        "attribute": criterion.attribute,
        "operator": criterion.operator,
        "value": criterion.value,
        "points": criterion.points,
        "kind": criterion.kind,
        "lineage": criterion.lineage,
        **changed,
    }
    return Proposed(**fields)


def suggestion(
    key: str,
    kind: EditKind,
    changes: Sequence[Change],
    *,
    attribute: str,
    change: str,
    sentence: str,
    values: Sequence[ValueLift] = (),
    shown: bool = True,
    after: Backtest | None = None,
    moved: int = 12,
    overrides: Sequence[OverrideRef] = (),
    agreeing: int = 0,
    about: Criterion | None = None,
) -> Suggestion:
    return Suggestion(
        key=key,
        kind=kind,
        attribute=attribute,
        attribute_label=attribute.replace("_", " ").capitalize(),
        change=change,
        sentence=sentence,
        changes=tuple(changes),
        values=tuple(values),
        effect=Effect(BEFORE, after or backtest(A=(30, 15), B=(10, 30), C=(0, 45)), moved),
        shown=shown,
        standing="" if shown else Standing.TOO_FEW_DEALS.label,
        overrides=tuple(overrides),
        overrides_agreeing=agreeing,
        lineage=about.lineage if about else None,
    )


def override_ref(pk: int, name: str) -> OverrideRef:
    return OverrideRef(pk, pk, name, "C", "A", "Strategic account", NOW - timedelta(days=3))


def germany_for(version: ProfileVersion) -> Suggestion:
    """Add "Country is one of DE", 10 points, the other fit criteria scaled
    to make room (points only), as the engine makes it."""
    room = [
        Change(proposed(c), proposed(c, points=c.points * 9 // 10))
        for c in version.criteria.all()
        if c.kind == "fit"
    ]
    return suggestion(
        "country-de",
        EditKind.ADD_CRITERION,
        [*room, Change(None, Proposed("country", "in", ["DE"], 10))],
        attribute="country",
        change="Add Country is one of DE (10 points)",
        sentence="German accounts won 70% of 40 closed deals.",
        values=[value("DE", 28, 12)],
    )


def usual_suggestions(version: ProfileVersion) -> Suggestions:
    """The suggestions the module's docstring lists; for a version without
    FIT_100's criteria, "country-de" alone."""
    criteria = {c.attribute: c for c in version.criteria.all()}
    if not {"industry", "funding_stage", "crm", "employees"} <= set(criteria):
        return Suggestions(
            version, WINDOW, 30, BASE, [germany_for(version)], [], None, computed_at=NOW
        )
    industry, funding = criteria["industry"], criteria["funding_stage"]
    crm, employees = criteria["crm"], criteria["employees"]
    fintech = suggestion(
        "industry-fintech",
        EditKind.ADD_VALUE,
        [
            Change(
                proposed(industry), proposed(industry, value=[*(industry.value or []), "Fintech"])
            )
        ],
        attribute="industry",
        change="Industry: add Fintech",
        sentence="Fintech accounts won 64% of 50 closed deals, against 40% overall.",
        values=[value("Fintech", 32, 18)],
        overrides=[override_ref(1, "Ledgerly"), override_ref(2, "Paywise")],
        agreeing=2,
        about=industry,
    )
    drop = suggestion(
        "drop-funding",
        EditKind.REMOVE_CRITERION,
        [Change(proposed(funding), None)],
        attribute="funding_stage",
        change="Remove Funding stage is one of Series B, Series C, Series D",
        sentence="Accounts at Series B-D won no more often than the others.",
        values=[value("Series B", 14, 21)],
        moved=40,
        about=funding,
    )
    germany = germany_for(version)
    pipedrive = suggestion(
        "crm-pipedrive",
        EditKind.ADD_VALUE,
        [Change(proposed(crm), proposed(crm, value=[*(crm.value or []), "Pipedrive"]))],
        attribute="crm",
        change="CRM: add Pipedrive",
        sentence="Pipedrive accounts won 5 of 6 closed deals.",
        values=[value("Pipedrive", 5, 1, Standing.TOO_FEW_DEALS)],
        shown=False,
        about=crm,
    )
    reweight = suggestion(
        "reweight",
        EditKind.REWEIGHT,
        [
            Change(proposed(employees), proposed(employees, points=40)),
            Change(proposed(crm), proposed(crm, points=15)),
        ],
        attribute="",
        change="Employees 30 -> 40, CRM 25 -> 15",
        sentence="Points fitted to last year's deals tier the held-out deals better.",
    )
    rows = [
        PointsRow(c.lineage, f"{c.attribute} {c.operator}", c.points, c.points)
        for c in version.criteria.all()
    ]
    rows = [
        PointsRow(r.lineage, r.text, r.current, {30: 40, 25: 15}.get(r.current, r.current))
        for r in rows
    ]
    half = WINDOW.start + (WINDOW.end - WINDOW.start) / 2
    return Suggestions(
        version=version,
        window=WINDOW,
        min_deals=30,
        base=BASE,
        shown=[fintech, drop, germany, reweight],
        not_enough=[pipedrive],
        reweighting=Reweighting(
            fitted_on=Window(WINDOW.start, half),
            held_out=Window(half, WINDOW.end),
            rows=rows,
            current=backtest(A=(10, 10), B=(8, 16), C=(2, 20)),
            fitted=backtest(A=(12, 8), B=(6, 16), C=(2, 22)),
            suggestion=reweight,
        ),
        computed_at=NOW,
    )


def refit(suggestions: Suggestions) -> Callable[[list[Proposed]], list[Proposed]]:
    """The re-weighting's points, as if fitted again."""
    reweighting = suggestions.reweighting
    suggestion = reweighting.suggestion if reweighting else None
    changes = suggestion.changes if suggestion else ()
    points = {c.after.lineage: c.after.points for c in changes if c.after is not None}

    def refitted(criteria: list[Proposed]) -> list[Proposed]:
        return [replace(c, points=points.get(c.lineage, c.points)) for c in criteria]

    return refitted


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> list[ProfileVersion]:
    """The engine answers usual_suggestions; the list holds each version it
    was asked about."""
    asked: list[ProfileVersion] = []

    def suggestions_for(*, version: ProfileVersion, window: Window | None = None) -> Suggestions:
        asked.append(version)
        return usual_suggestions(version)

    monkeypatch.setattr(suggest, "suggestions_for", suggestions_for)
    monkeypatch.setattr(suggest, "current_suggestions", suggestions_for)
    monkeypatch.setattr(suggest, "refit", refit)
    return asked
