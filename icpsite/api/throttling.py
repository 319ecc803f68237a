"""The per-client request rate of the API (API_THROTTLE_RATE): per API key,
or per signed-in person in the browser."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from typing_extensions import override

logger = logging.getLogger(__name__)


class ClientRateThrottle(SimpleRateThrottle):
    """API_THROTTLE_RATE requests per key (or per signed-in person) in any
    sliding window of the period, as DRF counts them; over it: 429 with
    Retry-After.

    With Redis as the cache (REDIS_URL), the window is a sorted set of
    request times kept by one Lua script, which drops the times that left
    the window, counts the rest and admits the request only under the rate,
    all in one atomic step on Redis's own clock: however many web processes
    and threads ask at once, no more than the rate get through (DRF's own
    get-then-set let 16 parallel clients through 15 % over). Without Redis
    the count is the process's own, as DRF keeps it. When the cache does not
    answer, the request is let through and a warning logged: an outage of
    the counter should not become an outage of the API.
    """

    scope = "api"

    def get_rate(self) -> str | None:
        return str(settings.API_THROTTLE_RATE) or None

    @override
    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key_prefix = getattr(request.auth, "prefix", None)  # an API key (scoring.ApiKey)
        if isinstance(key_prefix, str):
            ident = f"key:{key_prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.cache = caches["default"]
        self._wait: float | None = None
        try:
            if isinstance(self.cache, RedisCache):
                return self._allow_in_redis(self.cache, self.key)
            with _LOCAL_LOCK:
                return super().allow_request(request, view)
        except Exception as exc:  # any cache failure: count nothing, refuse nothing
            logger.warning(
                "API rate not counted, request let through: the cache does not answer (%s: %s)",
                type(exc).__name__,
                exc,
            )
            return True

    def _allow_in_redis(self, cache: RedisCache, key: str) -> bool:
        rate, seconds = self.parse_rate(self.rate)
        full_key = cache.make_and_validate_key(key)
        # Django's client for this key (its pool, timeouts and server choice).
        client = cache._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]  # noqa: SLF001 (Django exposes no public Redis client)
        admitted, wait_us = client.eval(
            _SLIDING_WINDOW_LUA, 1, full_key, rate, (seconds or 0) * 1_000_000, uuid.uuid4().hex
        )
        if admitted:
            return True
        self._wait = max(int(wait_us), 0) / 1_000_000
        return False

    def wait(self) -> float | None:
        if self._wait is not None:
            return self._wait
        return super().wait()


# Drop the request times that left the window, then admit this one only if
# fewer than the rate remain; otherwise answer how long until the oldest
# leaves. Times in microseconds from Redis's clock, so web hosts whose clocks
# differ count in one window. KEYS[1]: the key; ARGV: rate, window (us), a
# unique member for this request.
_SLIDING_WINDOW_LUA = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local rate, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_us - window)
if redis.call('ZCARD', KEYS[1]) < rate then
  redis.call('ZADD', KEYS[1], now_us, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now_us}
"""

# Without Redis: DRF's read-then-write of the process's own count, one
# request at a time, so the threads of one process do not race.
_LOCAL_LOCK = threading.Lock()
