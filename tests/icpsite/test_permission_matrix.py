"""Every write, tried by every role: allowed exactly where the policy says.

The matrix walks each page that takes a POST and each API write endpoint
(the rows of tests/write_endpoints.py) with each role of the cast. An
allowed attempt must change what is stored; a denied one must be refused
(401, 403 or 404 in the API; the page refuses in its own words) and leave
every table exactly as it was. Each attempt is rolled back before the next
role tries, so all roles meet the same state. A new write route without a
row fails the coverage tests.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tests.snapshots import snapshot
from tests.write_endpoints import (
    CASES,
    ROLES,
    UI_CASES,
    Case,
    World,
    attempt,
    client_for,
    crit,
    refused,
    rolled_back,
    v,
)

# The suggestion engine answers what tests/suggesting.py builds.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.surface}: {c.name}")
def test_each_role_may_do_exactly_what_the_policy_allows(
    world: World, case: Case, settings: Any
) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    wrong: list[str] = []
    for role in ROLES:
        with contextlib.contextmanager(rolled_back)():
            client = client_for(world, case, role)
            before = snapshot()
            response = attempt(client, world, case)
            after = snapshot()
            assert response.status_code < 500, (role, response.status_code)
            if case.allows(role):
                if response.status_code >= 400 or after == before:
                    wrong.append(f"{role} should be allowed: {response.status_code}")
            elif after != before or not refused(case, role, response):
                changed = sorted(t for t in after if after[t] != before.get(t))
                wrong.append(f"{role} should be refused: {response.status_code}, changed {changed}")
    assert wrong == []


@pytest.mark.parametrize("case", UI_CASES, ids=lambda c: c.name)
def test_every_page_write_needs_the_csrf_token(world: World, case: Case) -> None:
    role = sorted(case.allowed)[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.people[role])
    before = snapshot()
    response = client.post(case.path(world), case.data(world))
    assert response.status_code == 403
    assert snapshot() == before


# --- Coverage: no write route without a row ------------------------------------

# Pages that only read (a POST to them must change nothing), and Django's own
# sign-in and password pages, which act on the person's own account only.
READ_ONLY_PAGES = {
    "run-progress",
    "version-impact",
    "version-evidence",
    "version-suggestions",
    "dashboard",
    "profile-detail",
    "version-compare",
    "version-detail",
    "criterion-edit",
    "account-list",
    "account-detail",
    "account-export",
    "account-import-job",
    "review-queue",
    "checkin-list",
    "validation",
    "my-work",
    "my-work-nav",
    "queue-override",
    "notification-list",
    "health",
}
OWN_ACCOUNT_PAGES = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def routes() -> Iterator[tuple[str, URLPattern]]:
    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                # as ResolverMatch.route spells it: a regex's leading ^ dropped
                yield prefix + str(pattern.pattern).removeprefix("^"), pattern

    for route, pattern in walk(get_resolver().url_patterns, ""):
        if not route.startswith(("admin/", "api/schema/", "api/docs/", "__debug__")):
            yield route, pattern


def api_writes() -> set[tuple[str, str]]:
    found = set()
    for route, pattern in routes():
        if not route.startswith("api/v1/"):
            continue
        view = pattern.callback
        actions = getattr(view, "actions", None)
        methods = (
            set(actions)
            if actions
            else {m for m in WRITE_METHODS if hasattr(getattr(view, "cls", None), m)}
        )
        found |= {(route, method) for method in methods & WRITE_METHODS}
    return found


def covered(world: World, surface: str) -> set[tuple[str, str]]:
    return {
        (resolve(case.path(world).split("?")[0]).route, case.method)
        for case in CASES
        if case.surface == surface
    }


def test_every_api_write_endpoint_has_a_row(world: World) -> None:
    assert api_writes() - covered(world, "api") == set()


def test_every_page_is_a_write_with_a_row_or_only_reads(world: World) -> None:
    pages = {(route, p.name) for route, p in routes() if not route.startswith("api/")}
    rows = {route for route, _ in covered(world, "ui")}
    unlisted = (
        {name for route, name in pages if route not in rows} - READ_ONLY_PAGES - OWN_ACCOUNT_PAGES
    )
    assert unlisted == set()


@pytest.mark.parametrize("name", sorted(READ_ONLY_PAGES - {"health"}))
def test_a_post_to_a_reading_page_changes_nothing(world: World, name: str) -> None:
    urls = {
        "run-progress": "/profiles/mid-market-saas/scoring/progress/",
        "version-impact": v(world.icp, world.review, "impact/"),
        "version-evidence": v(world.icp, world.review, "evidence/"),
        "version-suggestions": v(world.icp, world.review, "suggestions/"),
        "dashboard": "/",
        "profile-detail": "/profiles/mid-market-saas/",
        "version-compare": "/profiles/mid-market-saas/compare/",
        "version-detail": v(world.icp, world.review),
        "criterion-edit": v(world.icp, world.review, f"criteria/{crit(world)}/edit/"),
        "account-list": "/accounts/",
        "account-detail": f"/accounts/{world.acme.pk}/",
        "account-export": "/accounts/export.csv",
        "account-import-job": "/accounts/import/1/",
        "review-queue": "/reviews/",
        "checkin-list": "/reviews/checkins/",
        "validation": "/reviews/validation/",
        "my-work": "/reviews/my-work/",
        "my-work-nav": "/reviews/my-work/nav/",
        "queue-override": f"/reviews/queue/overrides/{world.override.pk}/",
        "notification-list": "/reviews/notifications/",
    }
    for role in ("member", "superuser"):
        client = Client()
        client.force_login(world.people[role])
        before = snapshot()
        response = client.post(urls[name], {"name": "x", "revision": world.review.revision})
        assert response.status_code < 500
        assert snapshot() == before


def test_the_cast_is_what_the_matrix_says(world: World) -> None:
    assert set(itertools.chain(world.people, world.keys, ["anonymous"])) == set(ROLES)
