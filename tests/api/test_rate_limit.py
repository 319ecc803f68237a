"""The API rate is counted atomically in Redis, so parallel clients on one key
get exactly API_THROTTLE_RATE requests through, and a cache that does not
answer lets requests through with a warning instead of failing them."""

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from profiles.models import User
from scoring.api_keys import api_key_create
from tests.conftest import CACHE_REDIS_URL, redis_cache, require_redis
from tests.factories import UserFactory

PROFILES = "/api/v1/profiles/"
DOWN_REDIS_URL = "redis://127.0.0.1:1/0"
CLIENTS = 12
REQUESTS_EACH = 15


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory.create(username="staff", is_staff=True, is_superuser=True)


@pytest.fixture
def shared_redis_cache(settings: Any) -> Iterator[None]:
    require_redis(CACHE_REDIS_URL)
    settings.CACHES = redis_cache(CACHE_REDIS_URL)
    yield
    from django.core.cache import cache

    cache.clear()


def test_parallel_clients_on_one_key_get_exactly_the_rate_through(
    live_server: Any, transactional_db: None, shared_redis_cache: None, settings: Any
) -> None:
    settings.API_THROTTLE_RATE = "50/minute"
    staff = UserFactory.create(username="staff", is_staff=True, is_superuser=True)
    made = api_key_create(actor=staff, name="Busy", user=staff, scope="read")
    headers = {"Authorization": f"Bearer {made.plaintext}"}
    statuses: Counter[int] = Counter()
    refusals: list[requests.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client() -> None:
        with requests.Session() as session:
            start.wait()
            for _ in range(REQUESTS_EACH):
                response = session.get(live_server.url + PROFILES, headers=headers, timeout=30)
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 429:
                        refusals.append(response)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == {200: 50, 429: CLIENTS * REQUESTS_EACH - 50}
    for refused in refusals:
        assert refused.headers["Content-Type"] == "application/json"
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["detail"].startswith("Request was throttled.")


def test_a_key_over_the_rate_in_redis_gets_429_and_another_key_does_not(
    client: Any, staff: User, shared_redis_cache: None, settings: Any
) -> None:
    settings.API_THROTTLE_RATE = "3/minute"
    busy = api_key_create(actor=staff, name="Busy", user=staff, scope="read").plaintext
    other = api_key_create(actor=staff, name="Other", user=staff, scope="read").plaintext
    answers = [
        client.get(PROFILES, HTTP_AUTHORIZATION=f"Bearer {busy}").status_code for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429]
    assert client.get(PROFILES, HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200


def test_the_throttle_lets_requests_through_with_a_warning_when_the_cache_is_down(
    client: Any, staff: User, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.API_THROTTLE_RATE = "1/minute"
    settings.CACHES = redis_cache(DOWN_REDIS_URL)
    plaintext = api_key_create(actor=staff, name="Busy", user=staff, scope="read").plaintext
    with caplog.at_level(logging.WARNING, logger="icpsite.api.throttling"):
        answers = [client.get(PROFILES, HTTP_AUTHORIZATION=f"Bearer {plaintext}") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0]["Content-Type"] == "application/json"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings
    assert "not counted" in warnings[0].getMessage()
