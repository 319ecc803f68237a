"""The period attribute lift looks at.

A window holds start <= moment < end. By default it ends now and starts at
the live version's approval, but reaches back at least
REVIEWS_LIFT_MIN_WINDOW_DAYS (365) days: a version approved last week has
too few outcomes of its own, and the deals before it still say which
accounts buy. Without a live version it is those days alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from profiles.models import Profile
from reviews.drift import live_version


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if timezone.is_naive(self.start) or timezone.is_naive(self.end):
            raise ValueError("A window's start and end carry a time zone.")
        if self.start >= self.end:
            raise ValueError(f"A window starts before it ends ({self.start} >= {self.end}).")

    @classmethod
    def default(cls, *, approved_at: datetime | None, now: datetime, min_days: int) -> Window:
        """Since `approved_at`, but at least `min_days` days back from `now`."""
        earliest = now - timedelta(days=min_days)
        start = earliest if approved_at is None else min(approved_at, earliest)
        return cls(start, now)

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} {self.end:%Z}".rstrip()


def window_for(
    *, profile: Profile, since: datetime | None = None, now: datetime | None = None
) -> Window:
    """From `since` to now when given, else the default window of the
    profile (see the module's docstring)."""
    now = now or timezone.now()
    if since is not None:
        return Window(since, now)
    live = live_version(profile)
    return Window.default(
        approved_at=live.approved_at if live else None,
        now=now,
        min_days=settings.REVIEWS_LIFT_MIN_WINDOW_DAYS,
    )
