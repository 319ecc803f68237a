"""A believable account base for the demo: firmographics drawn from skewed
distributions, some data missing, and deal histories over about eighteen
months that depend on fit, so tiers, win rates and drift mean something:
new business won more often the better the fit, customers who expand and
renew (or churn at a renewal, the worse fits more often), older customers
renewing, and deals still open.

Deterministic for a seed. Fast at scale: on PostgreSQL rows go in with COPY
(a million accounts in well under a minute), elsewhere with bulk_create in
batches.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from profiles.attributes import AttrType, Operator
from scoring import sql
from scoring.engine import Rule, Ruleset, Tier, evaluate
from scoring.models import Account, Deal, canonical_fields

EXTERNAL_ID_PREFIX = "demo-"
BATCH = 5_000
# The temporary table the deals are copied into before they meet their accounts.
DEAL_STAGE = "demo_deal_stage"
# Processes making rows for COPY while this one streams them; making them is
# most of the work, PostgreSQL's share is small.
HELPERS = max(1, min(4, os.cpu_count() or 1))

INDUSTRIES = {
    "SaaS": 22, "Software": 12, "Fintech": 8, "Healthcare": 8, "Manufacturing": 10,
    "B2C retail": 5, "Consumer": 4, "Logistics": 6, "Education": 5, "Media": 5,
    "Professional services": 9, "": 6,
}  # fmt: skip
COUNTRIES = {
    "US": 40, "GB": 10, "DE": 10, "FR": 6, "NL": 4, "CA": 6, "AU": 4, "SE": 3, "ES": 3,
    "IN": 5, "BR": 3, "JP": 2, "KP": 0.15, "IR": 0.3, "SY": 0.15, "CU": 0.3, "": 3,
}  # fmt: skip
FUNDING = {
    "Bootstrapped": 12, "Seed": 12, "Series A": 16, "Series B": 16, "Series C": 10,
    "Series D": 6, "Public": 10, "": 18,
}  # fmt: skip
CRMS = {"Salesforce": 34, "HubSpot": 30, "Pipedrive": 9, "Zoho": 7, "Dynamics": 7, "": 13}
TOOLS = [
    "slack", "segment", "dbt", "snowflake", "zendesk", "intercom", "marketo", "outreach",
    "gong", "looker", "jira", "notion",
]  # fmt: skip
NAME_HEADS = [
    "Acme", "Blue", "Bright", "Cedar", "Cobalt", "Delta", "Ember", "Fern", "Granite", "Harbor",
    "Iris", "Juniper", "Kite", "Lumen", "Maple", "Nimbus", "Orbit", "Pine", "Quartz", "River",
    "Summit", "Tidal", "Umber", "Vertex", "Willow", "Zephyr",
]  # fmt: skip
NAME_TAILS = [
    "Labs", "Systems", "Works", "Analytics", "Health", "Logistics", "Cloud", "Commerce",
    "Data", "Robotics", "Media", "Partners", "Software", "Pay", "Foods", "Energy",
]  # fmt: skip

COLUMNS = [
    "external_id", "name", "domain", "employees", "annual_revenue", "industry", "country",
    "funding_stage", "crm", "tech_stack", "has_revops", "traits", "list_index",
    "industry_canonical", "country_canonical", "funding_stage_canonical", "crm_canonical",
    "traits_canonical", "lifecycle_stage", "churned_at", "created_at", "updated_at",
]  # fmt: skip
DEAL_COLUMNS = [
    "external_id", "name", "stage", "status", "type", "amount", "currency", "opened_at",
    "closed_at",
]  # fmt: skip

# How far back the pipeline goes, and the CRM's stage names.
HISTORY_DAYS = 540
OPEN_STAGES = ["Discovery", "Demo", "Proposal", "Negotiation"]
WON_STAGE, LOST_STAGE = "Closed won", "Closed lost"
YEAR = timedelta(days=365)
RENEWAL_NOTICE = timedelta(days=60)


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass(frozen=True)
class DemoAccounts:
    created: int
    total: int


def _hidden(
    attribute: str, type: AttrType, operator: Operator, value: Any = None, points: int = 0
) -> Rule:
    return Rule(attribute, type, operator, value, points=points, disqualifier=not points)


# What makes an account buy in the demo, unknown to every profile version:
# a ruleset scored by the engine, its score / 100 the account's fit (0 when
# disqualified), which drives its deals' outcomes. Tests pass others.
HIDDEN_RULES = Ruleset(
    (
        _hidden("employees", AttrType.NUMBER, Operator.BETWEEN, [150, 2500], 30),
        _hidden("industry", AttrType.CATEGORY, Operator.IN, ["SaaS", "Software", "Fintech"], 20),
        _hidden("crm", AttrType.CATEGORY, Operator.IN, ["Salesforce", "HubSpot"], 25),
        _hidden(
            "funding_stage",
            AttrType.CATEGORY,
            Operator.IN,
            ["Series B", "Series C", "Series D", "Public"],
            15,
        ),
        _hidden("has_revops", AttrType.BOOLEAN, Operator.IS_TRUE, None, 10),
        _hidden("industry", AttrType.CATEGORY, Operator.IN, ["B2C retail", "Consumer"]),
    )
)


def _fit(rules: Ruleset, account: Mapping[str, Any]) -> float:
    """The account's 0..1 fit under the hidden rules."""
    result = evaluate(rules, account)
    return 0.0 if result.tier == Tier.DQ else result.score / 100


def _money(value: float) -> Decimal:
    return Decimal(max(500, round(value, -2))).quantize(Decimal("0.01"))


class _History:
    """One account's deals, drawn in the order they happened."""

    def __init__(self, rng: random.Random, key: str, company: str, now: datetime) -> None:
        self.rng, self.key, self.company, self.now = rng, key, company, now
        self.deals: list[dict[str, Any]] = []

    def deal(
        self, kind: str, label: str, opened: datetime, days: int, win: float, amount: Decimal
    ) -> dict[str, Any]:
        """A deal opened `opened` and decided `days` later, won with chance
        `win`; still open when that day is yet to come."""
        closes = opened + timedelta(days=days)
        row = {
            "external_id": f"{self.key}-{len(self.deals) + 1:02d}",
            "name": f"{self.company}: {label}",
            "type": kind,
            "amount": amount,
            "currency": "",
            "opened_at": opened,
            "closed_at": None,
        }
        if closes >= self.now:
            row.update(status="open", stage=self.rng.choice(OPEN_STAGES))
        else:
            won = self.rng.random() < win
            row.update(
                status="won" if won else "lost",
                stage=WON_STAGE if won else LOST_STAGE,
                closed_at=closes,
            )
        self.deals.append(row)
        return row


def _new_business(history: _History, fit: float, cycle: float, acv: Decimal) -> str:
    """Opportunities in the window: won more often the better the fit, a
    lost one sometimes tried again months later. The account's stage."""
    now, rng = history.now, history.rng
    opened = now - timedelta(days=rng.randint(7, HISTORY_DAYS))
    for _attempt in range(3):
        deal = history.deal("new", "new business", opened, int(cycle), 0.05 + 0.6 * fit, acv)
        if deal["status"] != "lost":
            return "opportunity" if deal["status"] == "open" else "customer"
        opened = deal["closed_at"] + timedelta(days=rng.randint(90, 270))
        if opened >= now - timedelta(days=7) or rng.random() > 0.35:
            break
    return "closed lost"


def _customer(
    history: _History, since: datetime, fit: float, acv: Decimal
) -> tuple[str, datetime | None]:
    """A customer since `since`: an expansion now and then, a renewal each
    year, lost (and the customer churned) more often the worse the fit.
    The account's stage and churn date."""
    now, rng = history.now, history.rng
    churn = max(0.05, 0.40 - 0.34 * fit)
    year_start = since
    while True:
        renewal_day = year_start + YEAR
        if rng.random() < 0.15 + 0.45 * fit:
            opened = year_start + timedelta(days=rng.randint(60, 300))
            if opened < now:
                size = _money(float(acv) * rng.uniform(0.15, 0.5))
                deal = history.deal(
                    "expansion", "expansion", opened, rng.randint(15, 45), 0.35 + 0.5 * fit, size
                )
                if deal["status"] == "won":
                    acv += size
        opened = renewal_day - RENEWAL_NOTICE
        if opened >= now:
            return "customer", None
        acv = _money(float(acv) * rng.uniform(1.0, 1.08))
        label = f"renewal {renewal_day:%Y}"
        deal = history.deal("renewal", label, opened, RENEWAL_NOTICE.days, 1 - churn, acv)
        if deal["status"] == "lost":
            return "churned", deal["closed_at"]
        if deal["status"] == "open":
            return "customer", None
        year_start = renewal_day


def _deals(
    rng: random.Random, key: str, company: str, employees: int | None, fit: float, now: datetime
) -> tuple[list[dict[str, Any]], str, datetime | None]:
    """The account's deals, lifecycle stage and churn date."""
    history = _History(rng, key, company, now)
    acv = _money((employees or 100) ** 0.6 * rng.uniform(300, 900) * (1 + fit))
    # Bigger companies take longer to decide.
    cycle = rng.uniform(20, 70) * (1 + min(2.0, (employees or 100) / 1000))
    if rng.random() < 0.005 + 0.04 * fit:
        # A customer from before the window: its first deal, then renewals.
        since = now - timedelta(days=HISTORY_DAYS + rng.randint(0, 700))
        opened = since - timedelta(days=int(cycle))
        history.deal("new", "new business", opened, int(cycle), 1.0, acv)
        stage, churned = _customer(history, since, fit, acv)
    elif rng.random() < 0.02 + 0.13 * fit:
        stage, churned = _new_business(history, fit, cycle, acv), None
        won = [d for d in history.deals if d["status"] == "won"]
        if won:
            stage, churned = _customer(history, won[0]["closed_at"], fit, acv)
    else:
        stage, churned = "lead", None
    return history.deals, stage, churned


def _row(
    rng: random.Random, n: int, now: datetime, rules: Ruleset
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Account n and its deals, its outcomes drawn from its fit under `rules`."""
    employees: int | None = max(1, int(rng.lognormvariate(math.log(260), 1.35)))
    if rng.random() < 0.08:
        employees = None
    revenue = None
    if employees is not None and rng.random() > 0.15:
        revenue = int(employees * rng.uniform(80_000, 260_000))
    industry, country = _pick(rng, INDUSTRIES), _pick(rng, COUNTRIES)
    funding, crm = _pick(rng, FUNDING), _pick(rng, CRMS)
    revops: bool | None = rng.random() < (0.65 if (employees or 0) > 200 else 0.2)
    if rng.random() < 0.2:
        revops = None
    tools = sorted(rng.sample(TOOLS, rng.randint(0, 5)))
    if crm:
        tools = sorted({*tools, crm.lower()})
    name = f"{rng.choice(NAME_HEADS)} {rng.choice(NAME_TAILS)} {n}"
    drawn: dict[str, Any] = {
        "employees": employees,
        "annual_revenue": revenue,
        "industry": industry,
        "country": country,
        "funding_stage": funding,
        "crm": crm,
        "tech_stack": tools,
        "has_revops": revops,
        "traits": {},
    }
    fit = _fit(rules, drawn)
    external_id = f"{EXTERNAL_ID_PREFIX}{n:07d}"
    deals, stage, churned = _deals(rng, external_id, name, employees, fit, now)
    values: dict[str, Any] = {
        "industry": industry,
        "country": country,
        "funding_stage": funding,
        "crm": crm,
        "tech_stack": tools,
        "traits": {},
    }
    account: dict[str, Any] = {
        "external_id": external_id,
        "name": name,
        "domain": f"{name.lower().replace(' ', '-')}.example",
        "employees": employees,
        "annual_revenue": revenue,
        **values,
        "has_revops": revops,
        **canonical_fields(values),
        "lifecycle_stage": stage,
        "churned_at": churned,
        "created_at": now,
        "updated_at": now,
    }
    return account, deals


def _rows(
    seed: int, start: int, stop: int, now: datetime | None = None, rules: Ruleset = HIDDEN_RULES
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    now = now or timezone.now().replace(microsecond=0)
    for n in range(start, stop):
        # One generator per account keeps account n the same whatever the batch.
        yield _row(random.Random(f"{seed}:{n}"), n, now, rules)


def seed_accounts(
    *, count: int, seed: int, rules: Ruleset = HIDDEN_RULES, now: datetime | None = None
) -> DemoAccounts:
    """Make sure demo accounts 1..count exist, their outcomes drawn from
    `rules` as of `now`; earlier ones are left as they are."""
    existing = Account.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).count()
    start = existing + 1
    if start <= count:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _copy(seed, start, count + 1, rules, now)
            else:
                _bulk(_rows(seed, start, count + 1, now, rules))
    total = Account.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).count()
    return DemoAccounts(created=max(0, count - existing), total=total)


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _model_defaults() -> dict[str, Any]:
    """The account columns the demo leaves at their model default, with it:
    COPY fills a column it is not given with NULL, not with Django's default."""
    return {
        field.column: field.get_default()
        for field in Account._meta.concrete_fields
        if field.column not in COLUMNS and field.has_default() and not field.null
    }


def _copy_values(batch: tuple[int, int, int, datetime, Ruleset]) -> tuple[bytes, bytes]:
    """Accounts start..stop and their deals as COPY text (made in a helper
    process); each deal line starts with its account's external id."""
    seed, start, stop, now, rules = batch
    defaults = _model_defaults()
    accounts: list[str] = []
    deals: list[str] = []
    for account, account_deals in _rows(seed, start, stop, now, rules):
        account["tech_stack"] = json.dumps(account["tech_stack"])
        account["traits"] = json.dumps(account["traits"])
        account["traits_canonical"] = json.dumps(account["traits_canonical"])
        account.update(defaults)
        accounts.append("\t".join(_copy_text(account[column]) for column in [*COLUMNS, *defaults]))
        deals.extend(
            "\t".join(
                [_copy_text(account["external_id"])]
                + [_copy_text(deal[column]) for column in DEAL_COLUMNS]
            )
            for deal in account_deals
        )
    return _copy_lines(accounts), _copy_lines(deals)


def _copy_lines(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _copy(seed: int, start: int, stop: int, rules: Ruleset, now: datetime | None) -> None:
    """COPY accounts start..stop in, the rows made by helper processes while
    this one streams them in order; then their deals, staged by account
    external id and joined to the accounts' ids in one INSERT."""
    now = (now or timezone.now()).replace(microsecond=0)
    batches = [(seed, low, min(low + BATCH, stop), now, rules) for low in range(start, stop, BATCH)]
    deals: list[bytes] = []
    # Fork before COPY starts: the helpers never touch the connection.
    with multiprocessing.get_context("fork").Pool(HELPERS) as pool, connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(sql.accounts_copy([*COLUMNS, *_model_defaults()]).text) as copy:
            for accounts, batch_deals in pool.imap(_copy_values, batches):
                copy.write(accounts)
                deals.append(batch_deals)
        sql.execute(sql.deals_stage(DEAL_STAGE, DEAL_COLUMNS))
        with raw.copy(sql.stage_copy(DEAL_STAGE, DEAL_COLUMNS).text) as copy:
            for text in deals:
                copy.write(text)
    sql.execute(sql.deals_from_stage(DEAL_STAGE, DEAL_COLUMNS, now))
    sql.execute(sql.stage_drop(DEAL_STAGE))
    # Plans for the pages and the first rescoring need to know the tables
    # grew, before autovacuum gets round to it.
    sql.execute(sql.accounts_analyze())
    sql.execute(sql.deals_analyze())


def _bulk(rows: Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    batch: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            _bulk_batch(batch)
            batch = []
    if batch:
        _bulk_batch(batch)


def _bulk_batch(batch: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    Account.objects.bulk_create([Account(**account) for account, _ in batch])
    ids = dict(
        Account.objects.filter(
            external_id__in=[account["external_id"] for account, _ in batch]
        ).values_list("external_id", "pk")
    )
    Deal.objects.bulk_create(
        [
            Deal(account_id=ids[account["external_id"]], **deal)
            for account, deals in batch
            for deal in deals
        ],
        batch_size=BATCH,
    )


def remove_accounts() -> None:
    Account.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).delete()
