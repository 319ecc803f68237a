"""Every API write endpoint and the CSV import page against the hostile
corpus: every answer is a 4xx in the API's error shape (the page refuses in
its own words), and nothing stored changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.hostile.conftest import MUTATIONS, csv_files, generated_bodies, stored_bodies
from tests.snapshots import snapshot
from tests.write_endpoints import API_CASES, Case, World, api, client_for

pytestmark = pytest.mark.django_db

# The writes that read a body (submit, resolve, rotate-secret and the like ignore one).
NO_BODY = api.__defaults__[0]  # type: ignore[index]
WITH_BODY = [case for case in API_CASES if case.data is not NO_BODY]
# A bulk endpoint answers its bad rows in its own documented body.
BULK = {"upsert accounts", "record outcomes", "upsert deals"}


def _role(case: Case) -> str:
    return "superuser" if "superuser" in case.allowed else sorted(case.allowed - {"anonymous"})[0]


def _in_error_shape(case: Case, response: Any) -> bool:
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = response.json()
    if case.name in BULK and isinstance(body, dict) and "results" in body:
        return body["written"] is False or all(r["status"] == "invalid" for r in body["results"])
    if not isinstance(body, dict) or not body:
        return False
    return isinstance(body.get("detail"), str) or all(
        isinstance(v, (list, dict)) for v in body.values()
    )


def _send(client: Client, world: World, case: Case, body: bytes) -> Any:
    world.review.refresh_from_db()
    return client.generic(
        case.method.upper(), case.path(world), body, content_type="application/json"
    )


@pytest.mark.parametrize("case", WITH_BODY, ids=lambda c: c.name)
def test_every_write_endpoint_refuses_every_stored_and_generated_body(
    world: World, case: Case, settings: Any
) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    wrong = []
    for name, body in {**stored_bodies(), **generated_bodies()}.items():
        client = client_for(world, case, _role(case))
        before = snapshot()
        response = _send(client, world, case, body)
        if not 400 <= response.status_code < 500 or not _in_error_shape(case, response):
            wrong.append(f"{name}: {response.status_code} {response.content[:120]!r}")
        elif snapshot() != before:
            wrong.append(f"{name}: stored something")
    assert wrong == []


@pytest.mark.parametrize("case", WITH_BODY, ids=lambda c: c.name)
def test_every_write_endpoint_refuses_its_own_body_made_hostile(
    world: World, case: Case, settings: Any
) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    valid = case.data(world)
    wrong = []
    for name, mutate in MUTATIONS.items():
        hostile = mutate(valid)
        if hostile == valid:
            continue
        body = json.dumps(hostile).encode()
        client = client_for(world, case, _role(case))
        before = snapshot()
        response = _send(client, world, case, body)
        if not 400 <= response.status_code < 500 or not _in_error_shape(case, response):
            wrong.append(f"{name}: {response.status_code} {response.content[:160]!r}")
        elif snapshot() != before:
            wrong.append(f"{name}: stored something")
    assert wrong == []


def _accounts_and_runs() -> dict[str, list[str]]:
    """What an import could change; a background import's own job row aside."""
    return {table: rows for table, rows in snapshot().items() if "import" not in table}


@pytest.mark.parametrize("name", sorted(csv_files()))
def test_the_import_page_refuses_every_bad_csv_and_stores_no_account(
    world: World, name: str
) -> None:
    client = Client()
    client.force_login(world.people["manager"])
    before = _accounts_and_runs()
    upload = SimpleUploadedFile(name, csv_files()[name], content_type="text/csv")
    response = client.post("/accounts/import/", {"file": upload}, follow=True)
    assert response.status_code < 500
    assert _accounts_and_runs() == before
