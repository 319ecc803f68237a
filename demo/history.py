"""The demo's past: when each step of its story happened, and how the rows
the services wrote in a step are dated to it.

The story is written through the same services as real use, in the order
it happened; each step then has its rows (events, comments, sign-offs,
criteria, notifications, check-ins) dated to the step's moment, so the
governance rules hold (a sign-off before the approval it allowed, an
approval after the submission) and the pages show a believable history.

Earlier versions' scoring runs are recorded as finished runs with their
tier counts and movement, worked out in the database from the versions'
rules, but without their scores (scoring a large base three times would
triple the seed's time). Retention then applies as in real use
(scoring.services.runs_prune keeps the last two runs): v2's run stays
beside the live one, v1's goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Manager, Max
from django.utils import timezone

from profiles.models import Comment, Criterion, Profile, ProfileVersion, SignOff, VersionEvent
from reviews.figures import version_tiering
from reviews.models import CheckIn, Notification
from reviews.services import add_months
from scoring import score_tables
from scoring.models import RunStatus, ScoringRun
from scoring.sql import fetchall, sql

# Days from today to the open scheduled check-in.
NEXT_CHECKIN_IN_DAYS = 10
# A run of the demo's size finishes within minutes of its approval.
RUN_TAKES = timedelta(minutes=4)

# Rows a service writes with an automatic creation time, and those times.
STAMPED: list[tuple[Manager[Any], tuple[str, ...]]] = [
    (VersionEvent.objects, ("created_at",)),
    (Comment.objects, ("created_at",)),
    (SignOff.objects, ("created_at",)),
    (Criterion.objects, ("created_at", "updated_at")),
    (Notification.objects, ("created_at",)),
    (CheckIn.objects, ("created_at",)),
]


def at_hour(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A working hour of `day`, in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@dataclass(frozen=True)
class Timeline:
    """When the story's steps happened: four quarterly check-ins held a
    quarter apart before the one due soon; v1 approved a quarter before the
    first, v2 and v3 drafted at the second and fourth and approved weeks
    later."""

    today: date

    def checkin_due(self, quarters_ago: int) -> date:
        """The scheduled check-in due `quarters_ago` quarters before the next one."""
        return add_months(self.today + timedelta(days=NEXT_CHECKIN_IN_DAYS), -3 * quarters_ago)

    @property
    def next_checkin(self) -> date:
        return self.checkin_due(0)

    @property
    def v1_approved(self) -> date:
        return self.checkin_due(5)

    def held(self, quarters_ago: int) -> datetime:
        return at_hour(self.checkin_due(quarters_ago) + timedelta(days=1), 14)


@contextmanager
def dated(at: datetime) -> Iterator[None]:
    """Date the rows written inside the block (of the STAMPED models) to `at`."""
    marks = [rows.aggregate(m=Max("pk"))["m"] or 0 for rows, _ in STAMPED]
    yield
    for (rows, fields), mark in zip(STAMPED, marks, strict=True):
        rows.filter(pk__gt=mark).update(**dict.fromkeys(fields, at))


def version_dated(version: ProfileVersion, **times: datetime) -> ProfileVersion:
    """Set a version's own times (created_at, submitted_at, approved_at,
    superseded_at...); updated_at follows the latest of them."""
    ProfileVersion.objects.filter(pk=version.pk).update(**times, updated_at=max(times.values()))
    version.refresh_from_db()
    return version


def _tallies(
    earlier: ProfileVersion | None, later: ProfileVersion
) -> tuple[dict[str, int], dict[str, int]]:
    """The tier counts `later` gives the account base, and the movement
    from `earlier`'s tiers ("A->B": n), in one aggregate query."""
    if earlier is None:
        rows = fetchall(
            sql(
                "SELECT NULL, b.tier, COUNT(*) FROM ({b}) b GROUP BY b.tier",
                b=version_tiering(later),
            )
        )
    else:
        rows = fetchall(
            sql(
                "SELECT a.tier, b.tier, COUNT(*) FROM ({a}) a "
                "JOIN ({b}) b ON b.account_id = a.account_id GROUP BY a.tier, b.tier",
                a=version_tiering(earlier),
                b=version_tiering(later),
            )
        )
    counts: dict[str, int] = {}
    movement: dict[str, int] = {}
    for before, after, n in rows:
        counts[after] = counts.get(after, 0) + int(n)
        if before is not None and before != after:
            movement[f"{before}->{after}"] = int(n)
    return counts, movement


def run_recorded(
    *, profile: Profile, version: ProfileVersion, previous: ProfileVersion | None, at: datetime
) -> ScoringRun:
    """The run an earlier version's approval queued, recorded as finished
    at `at` with the tier counts and movement it had, its scores not kept."""
    run = ScoringRun.objects.filter(profile=profile, version=version).order_by("pk").first()
    if run is None:
        run = ScoringRun.objects.create(profile=profile, version=version, dispatched_at=at)
    else:
        score_tables.drop(run.pk)
    counts, movement = _tallies(previous, version)
    ScoringRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED,
        is_current=False,
        accounts_scored=sum(counts.values()),
        tier_counts=counts,
        tier_movement=movement,
        error="",
        created_at=at,
        dispatched_at=at,
        started_at=at,
        progressed_at=at + RUN_TAKES,
        finished_at=at + RUN_TAKES,
    )
    run.refresh_from_db()
    return run


def live_run_dated(*, profile: Profile, at: datetime) -> ScoringRun | None:
    """Date the profile's current run to just after its version's approval
    (`at`) and give it the movement from the run before it, whose scores
    are not kept; the scores themselves are the run's own."""
    run = ScoringRun.objects.filter(profile=profile, is_current=True).first()
    if run is None:
        return None
    earlier = (
        ScoringRun.objects.filter(
            profile=profile, status=RunStatus.SUCCEEDED, finished_at__lt=at, is_current=False
        )
        .order_by("-finished_at")
        .select_related("version")
        .first()
    )
    changes: dict[str, object] = {
        "created_at": at,
        "dispatched_at": at,
        "started_at": at,
        "progressed_at": at + RUN_TAKES,
        "finished_at": at + RUN_TAKES,
    }
    if earlier is not None and not run.tier_movement:
        changes["tier_movement"] = _tallies(earlier.version, run.version)[1]
    ScoringRun.objects.filter(pk=run.pk).update(**changes)
    run.refresh_from_db()
    return run
