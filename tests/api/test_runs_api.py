"""A sync client follows a rescoring through the API: the profile's runs,
one run's progress, and the run a page of the feed serves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from profiles.models import Profile, ProfileVersion, User
from scoring import services
from scoring.api_keys import api_key_create
from scoring.models import RunStatus, ScoringRun
from tests.factories import AccountFactory, ProfileFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(rep: User) -> APIClient:
    client = APIClient()
    key = api_key_create(actor=None, name="CRM", user=rep, scope="read").plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def finished(icp: Profile, v1: ProfileVersion, ops_manager: User) -> ScoringRun:
    AccountFactory.create_batch(3, employees=450, has_revops=True)
    run = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert run is not None
    return run


def runs_url(profile: Profile, run: ScoringRun | None = None) -> str:
    return f"/api/v1/profiles/{profile.slug}/runs/" + (f"{run.pk}/" if run else "")


def test_a_finished_run_shows_its_counts_and_is_the_one_the_feed_serves(
    reader: APIClient, icp: Profile, finished: ScoringRun
) -> None:
    body = reader.get(runs_url(icp, finished)).json()
    assert body["id"] == finished.pk
    assert (body["profile"], body["version"], body["status"]) == (icp.slug, 1, "succeeded")
    assert (body["is_current"], body["progress"], body["accounts_scored"]) == (True, 100, 3)
    assert body["tier_counts"] == {"A": 3}
    assert body["finished_at"] is not None
    feed = reader.get("/api/v1/scores/", {"profile": icp.slug}).json()
    assert feed["run"] == finished.pk


def test_a_run_in_progress_is_listed_first_with_its_progress(
    reader: APIClient, icp: Profile, finished: ScoringRun, ops_manager: User
) -> None:
    queued = services.run_create(
        profile=icp, version=finished.version, actor=ops_manager, enqueue=False
    )
    chunks = services.run_plan(queued.pk, 2)
    services.run_score_chunk(queued.pk, *chunks[0])
    listed = reader.get(runs_url(icp)).json()
    assert [r["id"] for r in listed] == [queued.pk, finished.pk]
    running = listed[0]
    assert (running["status"], running["is_current"]) == (RunStatus.RUNNING, False)
    assert (running["chunks_done"], running["chunks_total"], running["progress"]) == (1, 2, 50)
    # Until it finishes, the feed serves the run before it.
    assert reader.get("/api/v1/scores/", {"profile": icp.slug}).json()["run"] == finished.pk


def test_the_feed_says_no_run_before_any(reader: APIClient, icp: Profile) -> None:
    assert reader.get("/api/v1/scores/", {"profile": icp.slug}).json()["run"] is None
    assert reader.get(runs_url(icp)).json() == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/profiles/nope/runs/",
        "/api/v1/profiles/nope/runs/1/",
        "/api/v1/profiles/bad%00slug/runs/",
        "/api/v1/profiles/{slug}/runs/99999/",
        "/api/v1/profiles/{slug}/runs/x/",
        "/api/v1/profiles/{other}/runs/{run}/",
    ],
)
def test_a_run_that_is_not_there_is_a_json_404(
    reader: APIClient, icp: Profile, finished: ScoringRun, path: str
) -> None:
    other = ProfileFactory.create(slug="other")
    url = path.format(slug=icp.slug, other=other.slug, run=finished.pk)
    response = reader.get(url)
    assert response.status_code == 404
    assert "detail" in response.json()


def test_runs_need_credentials_and_take_no_parameters(
    reader: APIClient, icp: Profile, finished: ScoringRun
) -> None:
    assert APIClient().get(runs_url(icp)).status_code == 401
    typo = reader.get(runs_url(icp), {"statuss": "running"})
    assert typo.status_code == 400
    assert "statuss" in typo.json()
    assert reader.post(runs_url(icp), {}, format="json").status_code in (403, 405)


def test_a_superseded_run_is_listed_until_a_run_succeeds_and_counts_come_at_success(
    reader: APIClient,
    icp: Profile,
    finished: ScoringRun,
    ops_manager: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    overtaken = services.run_create(
        profile=icp, version=finished.version, actor=ops_manager, enqueue=False
    )
    latest = services.run_create(
        profile=icp, version=finished.version, actor=ops_manager, enqueue=False
    )

    def listed() -> list[tuple[Any, ...]]:
        return [
            (r["id"], r["status"], r["accounts_scored"], r["tier_counts"], bool(r["finished_at"]))
            for r in reader.get(runs_url(icp)).json()
        ]

    assert listed() == [
        (latest.pk, "queued", 0, {}, False),
        (overtaken.pk, "superseded", 0, {}, True),
        (finished.pk, "succeeded", 3, {"A": 3}, True),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        run_all(latest)
    assert listed() == [
        (latest.pk, "succeeded", 3, {"A": 3}, True),
        (finished.pk, "succeeded", 3, {"A": 3}, True),
    ]


def test_the_schema_names_a_runs_path_parameters_as_its_path_does(reader: APIClient) -> None:
    schema = reader.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/profiles/{slug}/runs/", "/api/v1/profiles/{slug}/runs/{id}/"):
        operation = schema["paths"][path]["get"]
        names = sorted(p["name"] for p in operation["parameters"])
        assert names == sorted(part.strip("{}") for part in path.split("/") if "{" in part)
        assert operation["tags"] == ["runs"]
