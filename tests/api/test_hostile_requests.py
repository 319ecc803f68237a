"""Hostile request bodies and addresses: each answers a 4xx in the API's
error shape, names what is wrong, and stores nothing it should not."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from django.core.signals import request_started
from django.db import close_old_connections
from rest_framework.test import APIClient

from icpsite.api.parsers import MAX_BODY_BYTES, MAX_DEPTH, StrictJSONParser
from icpsite.chunked import ChunkedBodies
from profiles.models import Comment, Profile, ProfileVersion, User
from scoring.api_keys import api_key_create
from scoring.models import Account
from scoring.policies import IMPORT_PERMISSION
from tests.factories import AccountFactory, UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

UPSERT = "/api/v1/accounts/bulk-upsert/"
OUTCOMES = "/api/v1/accounts/outcomes/"


@pytest.fixture
def writer() -> APIClient:
    user = UserFactory.create(username="crm", is_staff=True, permissions=[IMPORT_PERMISSION])
    client = APIClient()
    key = api_key_create(actor=None, name="CRM", user=user, scope="write").plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def signed_in(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post_raw(client: APIClient, url: str, body: str | bytes) -> Any:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    # The stubs type `data` as str; Django encodes a str and passes bytes through.
    return client.generic(
        "POST",
        url,
        data,  # type: ignore[arg-type]
        content_type="application/json",
    )


# --- Parsing ---------------------------------------------------------------------


def test_duplicate_keys_are_found_in_linear_time() -> None:
    body = ("{" + ",".join(f'"k{i}": 1' for i in range(80_000)) + "}").encode()
    started = time.perf_counter()
    parsed = StrictJSONParser().parse(io.BytesIO(body))
    assert len(parsed) == 80_000
    assert time.perf_counter() - started < 3  # 30 s when each key was counted in a list


def test_many_keys_to_comments_by_a_person_in_no_team_answer_quickly(
    outsider: User, icp: Profile
) -> None:
    version = ProfileVersion.objects.create(profile=icp, number=1, created_by=outsider)
    body = "{" + ",".join(f'"k{i}": 1' for i in range(80_000)) + "}"
    started = time.perf_counter()
    response = post_raw(
        signed_in(outsider),
        f"/api/v1/profiles/{icp.slug}/versions/{version.number}/comments/",
        body,
    )
    assert time.perf_counter() - started < 5
    assert response.status_code == 400
    assert Comment.objects.count() == 0


def test_a_key_twice_in_one_object_is_named() -> None:
    with pytest.raises(Exception, match="the key 'a' appears twice in one object"):
        StrictJSONParser().parse(io.BytesIO(b'{"a": 1, "b": {"a": 2}, "a": 3}'))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_json_nested_past_the_limit_is_a_400_not_a_recursion_error(
    writer: APIClient, depth: int
) -> None:
    body = '{"accounts":' + "[" * depth + "]" * depth + "}"
    response = post_raw(writer, UPSERT, body)
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"The body is not valid JSON: nested deeper than {MAX_DEPTH}."
    }


def test_nesting_up_to_the_limit_and_brackets_inside_strings_are_read() -> None:
    deepest = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert StrictJSONParser().parse(io.BytesIO(deepest.encode())) is not None
    text = '{"a": "' + "[" * 500 + '\\"' + "{" * 500 + '"}'
    assert StrictJSONParser().parse(io.BytesIO(text.encode()))["a"].startswith("[[[")


def test_a_key_with_a_lone_surrogate_is_refused_by_the_parser(writer: APIClient) -> None:
    response = post_raw(writer, UPSERT, '{"accounts": [{"\\ud83d": 1}]}')
    assert response.status_code == 400
    assert "lone surrogate (\\ud83d)" in response.json()["detail"]


# --- Text the database cannot store ------------------------------------------------


def test_a_lone_surrogate_in_a_name_is_the_rows_error_and_nothing_is_stored(
    writer: APIClient,
) -> None:
    body = '{"accounts": [{"external_id": "s1", "name": "Acme \\ud83d"}]}'
    response = post_raw(writer, UPSERT, body)
    assert response.status_code == 400
    assert response.json()["results"] == [
        {
            "index": 0,
            "external_id": "s1",
            "status": "invalid",
            "errors": {
                "name": [
                    "contains a lone surrogate (\\ud83d) at position 5; send valid Unicode text"
                ]
            },
        }
    ]
    assert not Account.objects.exists()


def test_valid_only_keeps_the_good_rows_beside_surrogates_and_nul(writer: APIClient) -> None:
    body = (
        '{"mode": "valid_only", "accounts": ['
        '{"external_id": "good", "name": "Good"},'
        '{"external_id": "s1", "name": "Acme", "tech_stack": ["slack", "\\udc00x"]},'
        '{"external_id": "n1", "name": "Nul\\u0000"}]}'
    )
    response = post_raw(writer, UPSERT, body)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid", "invalid"]
    assert results[1]["errors"] == {
        "tech_stack": [
            "item '\\udc00x' contains a lone surrogate (\\udc00) at position 0; "
            "send valid Unicode text"
        ]
    }
    assert results[2]["errors"] == {
        "name": ["contains a NUL character (\\u0000) at position 3; remove it"]
    }
    assert list(Account.objects.values_list("external_id", flat=True)) == ["good"]


def test_outcomes_name_a_surrogate_in_the_lifecycle_stage(writer: APIClient) -> None:
    AccountFactory.create(external_id="acme", name="Acme")
    body = '{"outcomes": [{"external_id": "acme", "lifecycle_stage": "\\ud800"}]}'
    before = snapshot()
    response = post_raw(writer, OUTCOMES, body)
    assert response.status_code == 400
    assert list(response.json()["results"][0]["errors"]) == ["lifecycle_stage"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("comments/", '{"team": "sales", "body": "Hi \\ud83d"}', "body"),
        ("comments/", '{"team": "sa\\ud83dles", "body": "Hi"}', "team"),
        ("signoffs/", '{"team": "sales", "decision": "\\ud83d", "revision": 1}', "decision"),
    ],
)
def test_a_surrogate_in_a_profiles_api_field_is_a_400_naming_it(
    rep: User, icp: Profile, path: str, body: str, field: str
) -> None:
    version = ProfileVersion.objects.create(profile=icp, number=1, created_by=rep)
    before = snapshot()
    response = post_raw(signed_in(rep), f"/api/v1/profiles/{icp.slug}/versions/1/{path}", body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert snapshot() == before
    assert version.revision == 1


def test_a_surrogate_in_a_criterion_value_is_named(rep: User, icp: Profile) -> None:
    ProfileVersion.objects.create(profile=icp, number=1, created_by=rep)
    body = (
        '{"revision": 1, "attribute": "industry", "operator": "in", '
        '"value": ["SaaS", "\\ud83d"], "points": 10}'
    )
    response = post_raw(signed_in(rep), f"/api/v1/profiles/{icp.slug}/versions/1/criteria/", body)
    assert response.status_code == 400
    assert "lone surrogate" in str(response.json()["value"])


# --- Chunked bodies ------------------------------------------------------------------


def _chunked_call(app: Any, path: str, body: bytes, **environ: Any) -> tuple[str, bytes]:
    """Call a WSGI app as gunicorn does with a chunked body: the body decoded,
    Transfer-Encoding passed on, no CONTENT_LENGTH."""
    answer: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *args: Any) -> None:
        answer["status"] = status

    base = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        **environ,
    }
    chunks = app(base, start_response)
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return answer["status"], content


def test_the_middleware_hands_a_chunked_body_on_with_its_length() -> None:
    seen: dict[str, Any] = {}

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["body"] = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [b""]

    status, _ = _chunked_call(ChunkedBodies(inner, limit=100), "/api/v1/x/", b'{"a": 1}')
    assert status == "200 OK"
    assert seen == {"length": "8", "body": b'{"a": 1}'}


def test_a_chunked_body_past_the_limit_is_a_json_413_before_the_app_runs() -> None:
    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise AssertionError("the app must not run")

    status, content = _chunked_call(
        ChunkedBodies(inner, limit=1024 * 1024), "/api/v1/x/", b"x" * (1024 * 1024 + 1)
    )
    assert status.startswith("413")
    assert content == b'{"detail": "The body is larger than 1 MB."}'


@pytest.mark.django_db(transaction=True)
def test_a_chunked_upsert_through_the_site_is_read_and_stored() -> None:
    from icpsite.wsgi import application

    user = UserFactory.create(username="crm", is_staff=True, permissions=[IMPORT_PERMISSION])
    key = api_key_create(actor=None, name="CRM", user=user, scope="write").plaintext
    body = b'{"accounts": [{"external_id": "c1", "name": "Chunked"}]}'
    request_started.disconnect(close_old_connections)
    try:
        status, content = _chunked_call(
            application, UPSERT, body, HTTP_AUTHORIZATION=f"Bearer {key}"
        )
        too_big, refusal = _chunked_call(
            application, UPSERT, b" " * (MAX_BODY_BYTES + 1), HTTP_AUTHORIZATION=f"Bearer {key}"
        )
    finally:
        request_started.connect(close_old_connections)
    assert status == "200 OK", content
    assert list(Account.objects.values_list("name", flat=True)) == ["Chunked"]
    assert too_big.startswith("413")
    assert refusal == b'{"detail": "The body is larger than 8 MB."}'


# --- Query parameters ----------------------------------------------------------------


def test_a_misspelt_parameter_is_refused_naming_the_accepted_ones(
    writer: APIClient, icp: Profile
) -> None:
    response = writer.get("/api/v1/scores/", {"profile": icp.slug, "changed_sinse": "999999"})
    assert response.status_code == 400
    message = response.json()["changed_sinse"][0]
    assert message.startswith(
        "Unknown parameter; this endpoint takes profile, page_size, changed_since, until, after, "
    )
    assert "tier" in message
    assert "overridden" in message


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/profiles/",
        "/api/v1/profiles/mid-market-saas/",
        "/api/v1/profiles/mid-market-saas/versions/",
        "/api/v1/webhooks/",
        "/api/v1/reviews/overrides/",
        "/api/v1/reviews/checkins/",
        "/api/v1/reviews/queue/",
        "/api/v1/reviews/validation/mid-market-saas/",
    ],
)
def test_every_list_and_read_refuses_an_unknown_parameter(icp: Profile, path: str) -> None:
    root = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    response = signed_in(root).get(path, {"nope": "1"})
    assert response.status_code == 400
    assert list(response.json()) == ["nope"]
    assert response.json()["nope"][0].startswith("Unknown parameter; this endpoint takes ")


def test_the_accepted_parameters_still_work(writer: APIClient, icp: Profile) -> None:
    response = writer.get("/api/v1/scores/", {"profile": icp.slug, "tier": "A", "page_size": "5"})
    assert response.status_code == 200


# --- One error shape ---------------------------------------------------------------


def test_an_unknown_api_address_answers_json_404(writer: APIClient) -> None:
    response = writer.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_wrong_method_answers_json_405(writer: APIClient) -> None:
    response = writer.put("/api/v1/accounts/bulk-upsert/", {}, format="json")
    assert response.status_code == 405
    assert list(response.json()) == ["detail"]


def test_a_failure_inside_an_api_view_answers_json_500_without_a_traceback(
    writer: APIClient, icp: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("secret database detail")

    monkeypatch.setattr("profiles.api.views.profile_list", broken)
    writer.raise_request_exception = False
    response = writer.get("/api/v1/profiles/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["detail"]
    assert "secret" not in body["detail"]
    assert "Traceback" not in body["detail"]


def test_pages_keep_their_html_404(client: Any) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_method_the_endpoint_lacks_is_a_405_whatever_the_query(writer: APIClient) -> None:
    response = writer.generic("TRACE", "/api/v1/reviews/checkins/?page=1&nope=2")
    assert response.status_code == 405
    assert list(response.json()) == ["detail"]
