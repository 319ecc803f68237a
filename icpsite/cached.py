"""Worked-out figures kept in the cache for a while. A cache that does not
answer is never an error: the figures are worked out again and the page
still shows."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)


def cache_get(key: str) -> Any:
    """The cached value, or None when absent or the cache does not answer."""
    try:
        return cache.get(key)
    except Exception as exc:  # a cache outage must not take the page down
        logger.warning("Cache not read (%s: %s); working the figures out", type(exc).__name__, exc)
        return None


def cache_set(key: str, value: Any, seconds: int) -> None:
    try:
        cache.set(key, value, seconds)
    except Exception as exc:  # a cache outage must not take the page down
        logger.warning("Cache not written (%s: %s)", type(exc).__name__, exc)
