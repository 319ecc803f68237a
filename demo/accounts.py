"""A believable account base for the demo: firmographics drawn from skewed
distributions, some data missing, and CRM outcomes (deals won and lost,
churn) that correlate with fit, so tiers, win rates and drift mean something.

Deterministic for a seed. Fast at scale: on PostgreSQL rows go in with COPY
(a million in well under a minute), elsewhere with bulk_create in batches.
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

from scoring import sql
from scoring.models import Account, canonical_fields

EXTERNAL_ID_PREFIX = "demo-"
BATCH = 5_000
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
    "traits_canonical", "lifecycle_stage", "opportunity_opened_at", "deal_status",
    "deal_closed_at", "deal_amount", "churned_at", "created_at", "updated_at",
]  # fmt: skip


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass(frozen=True)
class DemoAccounts:
    created: int
    total: int


def _fit(
    employees: int | None, industry: str, crm: str, funding: str, revops: bool | None
) -> float:
    """A rough 0..1 fit, independent of any profile version, that drives outcomes."""
    fit = 0.0
    if employees is not None and 150 <= employees <= 2500:
        fit += 0.3
    if industry in ("SaaS", "Software", "Fintech"):
        fit += 0.2
    if crm in ("Salesforce", "HubSpot"):
        fit += 0.25
    if funding in ("Series B", "Series C", "Series D", "Public"):
        fit += 0.15
    if revops:
        fit += 0.1
    if industry in ("B2C retail", "Consumer"):
        fit = 0.0
    return fit


def _row(rng: random.Random, n: int, now: datetime) -> dict[str, Any]:
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
    fit = _fit(employees, industry, crm, funding, revops)

    stage, opened, status, closed, amount, churned = "lead", None, "", None, None, None
    if rng.random() < 0.08 + 0.45 * fit:
        stage = "opportunity"
        opened = now - timedelta(days=rng.randint(30, 540))
        status = "open"
        if rng.random() < 0.8:
            won = rng.random() < 0.08 + 0.55 * fit
            status = "won" if won else "lost"
            stage = "customer" if won else "closed lost"
            closed = opened + timedelta(days=rng.randint(14, 120))
            closed = min(closed, now - timedelta(days=1))
            size = (employees or 100) ** 0.6 * rng.uniform(300, 900) * (1 + fit)
            amount = Decimal(round(size, -2)).quantize(Decimal("0.01"))
            if won and rng.random() < 0.35 - 0.28 * fit:
                churned = closed + timedelta(days=rng.randint(60, 400))
                churned = min(churned, now - timedelta(days=1))
                stage = "churned"
    values: dict[str, Any] = {
        "industry": industry,
        "country": country,
        "funding_stage": funding,
        "crm": crm,
        "tech_stack": tools,
        "traits": {},
    }
    return {
        "external_id": f"{EXTERNAL_ID_PREFIX}{n:07d}",
        "name": name,
        "domain": f"{name.lower().replace(' ', '-')}.example",
        "employees": employees,
        "annual_revenue": revenue,
        **values,
        "has_revops": revops,
        **canonical_fields(values),
        "lifecycle_stage": stage,
        "opportunity_opened_at": opened,
        "deal_status": status,
        "deal_closed_at": closed,
        "deal_amount": amount,
        "churned_at": churned,
        "created_at": now,
        "updated_at": now,
    }


def _rows(
    seed: int, start: int, stop: int, now: datetime | None = None
) -> Iterator[dict[str, Any]]:
    now = now or timezone.now().replace(microsecond=0)
    for n in range(start, stop):
        # One generator per account keeps account n the same whatever the batch.
        yield _row(random.Random(f"{seed}:{n}"), n, now)


def seed_accounts(*, count: int, seed: int) -> DemoAccounts:
    """Make sure demo accounts 1..count exist; earlier ones are left as they are."""
    existing = Account.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).count()
    start = existing + 1
    if start <= count:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _copy(seed, start, count + 1)
            else:
                _bulk(_rows(seed, start, count + 1))
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


def _copy_values(batch: tuple[int, int, int, datetime]) -> bytes:
    """Accounts start..stop as COPY text (made in a helper process)."""
    seed, start, stop, now = batch
    lines = []
    for row in _rows(seed, start, stop, now):
        for column in ("tech_stack", "traits", "traits_canonical"):
            row[column] = json.dumps(row[column])
        lines.append("\t".join(_copy_text(row[column]) for column in COLUMNS))
    return ("\n".join(lines) + "\n").encode()


def _copy(seed: int, start: int, stop: int) -> None:
    """COPY accounts start..stop in, the rows made by helper processes while
    this one streams them in order."""
    now = timezone.now().replace(microsecond=0)
    batches = [(seed, low, min(low + BATCH, stop), now) for low in range(start, stop, BATCH)]
    # Fork before COPY starts: the helpers never touch the connection.
    with multiprocessing.get_context("fork").Pool(HELPERS) as pool, connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(sql.accounts_copy(COLUMNS).text) as copy:
            for text in pool.imap(_copy_values, batches):
                copy.write(text)
    # Plans for the pages and the first rescoring need to know the table
    # grew, before autovacuum gets round to it.
    sql.execute(sql.accounts_analyze())


def _bulk(rows: Iterator[dict[str, Any]]) -> None:
    batch: list[Account] = []
    for row in rows:
        batch.append(Account(**row))
        if len(batch) >= BATCH:
            Account.objects.bulk_create(batch)
            batch = []
    if batch:
        Account.objects.bulk_create(batch)


def remove_accounts() -> None:
    Account.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).delete()
