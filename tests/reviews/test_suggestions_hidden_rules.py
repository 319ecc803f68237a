"""Suggestions find what a wrong draft gets wrong, on a base whose outcomes
are drawn from known hidden rules (the demo generator's, demo.accounts).

The draft leaves out one true criterion (the CRM), adds a false one
(country), and shuffles the true ones' points. The suggestions are made
over a year that ends 120 days ago; the last 120 days are held out. Every
ordering (AUC) is measured on the held-out deals by the scoring engine
itself, account by account, not by the code under test.
"""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from sklearn.metrics import roc_auc_score

from demo.accounts import HIDDEN_RULES, seed_accounts
from profiles.selectors import attribute_registry
from reviews.suggestions.edits import adoption_changes, criteria_of, ruleset_of
from reviews.suggestions.model import Change, Criterion, EditKind
from reviews.suggestions.suggest import refit, suggestions_for
from reviews.suggestions.window import Window
from scoring.engine import Ruleset, Thresholds, Tier, evaluate
from scoring.models import Account, Deal, DealState
from tests.drafting import with_criteria
from tests.factories import VersionFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a base this size is seeded with COPY"
    ),
]

ACCOUNTS = 40_000
HELD_OUT = timedelta(days=120)
WRONG = [
    ("employees", "between", [150, 2500], 10, "fit"),
    ("industry", "in", ["SaaS", "Software", "Fintech"], 30, "fit"),
    ("funding_stage", "in", ["Series B", "Series C", "Series D", "Public"], 10, "fit"),
    ("has_revops", "is_true", None, 25, "fit"),
    ("country", "in", ["US", "GB"], 25, "fit"),
    ("industry", "in", ["B2C retail", "Consumer"], 0, "disqualifier"),
]


def _auc(ruleset: Ruleset, deals: list[tuple[dict[str, Any], bool]]) -> float:
    scores = []
    for facts, _won in deals:
        result = evaluate(ruleset, facts)
        scores.append(-1 if result.tier == Tier.DQ else result.score)
    return float(roc_auc_score([won for _f, won in deals], scores))


def _after(criteria: list[Criterion], changes: list[Change]) -> list[Criterion]:
    result = list(criteria)
    for change in changes:
        if change.before is None:
            assert change.after is not None
            result.append(change.after)
            continue
        index = next(i for i, c in enumerate(result) if c.lineage == change.before.lineage)
        if change.after is None:
            del result[index]
        else:
            result[index] = replace(change.after, lineage=change.before.lineage)
    return result


@pytest.fixture(scope="module")
def base(django_db_setup: Any, django_db_blocker: Any) -> Any:
    now = timezone.now().replace(microsecond=0)
    with django_db_blocker.unblock():
        seed_accounts(count=ACCOUNTS, seed=11, rules=HIDDEN_RULES, now=now)
        yield now
        Deal.objects.all().delete()
        Account.objects.all().delete()


def test_suggestions_name_the_missing_and_the_false_criterion_and_win_back_the_ordering(
    base: Any,
) -> None:
    now = base
    version = VersionFactory.create(status="approved", approved_at=now - timedelta(days=400))
    with_criteria(version, WRONG)
    end = now - HELD_OUT
    suggestions = suggestions_for(version=version, window=Window(end - timedelta(days=365), end))

    top = suggestions.shown[:5]
    added = [s for s in top if s.kind == EditKind.ADD_CRITERION and s.attribute == "crm"]
    assert added, [s.change for s in top]
    crm = next(c.after for c in added[0].changes if c.before is None)
    assert crm is not None
    assert crm.attribute == "crm"
    assert {v.lower() for v in crm.value} == {"salesforce", "hubspot"}
    removed = [s for s in top if s.kind == EditKind.REMOVE_CRITERION and s.attribute == "country"]
    assert removed, [s.change for s in top]
    # Nothing true is proposed for removal.
    assert not [
        s
        for s in suggestions.shown
        if s.kind == EditKind.REMOVE_CRITERION and s.attribute != "country"
    ]

    held_out = [
        (deal.account.facts(), deal.status == DealState.WON)
        for deal in Deal.objects.filter(
            closed_at__gte=end, status__in=[DealState.WON, DealState.LOST]
        ).select_related("account")
    ]
    registry = attribute_registry()
    thresholds = Thresholds(a=version.threshold_a, b=version.threshold_b)
    wrong = ruleset_of(criteria_of(version), thresholds, registry)
    changes, adopted = adoption_changes(suggestions, [s.key for s in top], refit=refit(suggestions))
    assert len(adopted) == len(top)
    adopted_ruleset = ruleset_of(_after(criteria_of(version), changes), thresholds, registry)
    assert sum(r.points for r in adopted_ruleset.rules) == 100

    hidden_auc = _auc(HIDDEN_RULES, held_out)
    wrong_auc = _auc(wrong, held_out)
    adopted_auc = _auc(adopted_ruleset, held_out)
    print(f"AUC hidden {hidden_auc:.4f} wrong {wrong_auc:.4f} adopted {adopted_auc:.4f}")
    assert adopted_auc > wrong_auc, (wrong_auc, adopted_auc)
    assert adopted_auc >= hidden_auc - 0.03, (hidden_auc, adopted_auc)
