"""Two people acting on one version at the same moment: exactly one wins.

Each test holds a table lock in a third connection to keep the first
operation waiting half way, starts the second while it waits, then lets both
go. Whatever the order, the database ends consistent: an approved version was
signed at the revision it went live with, and nothing goes live over a
team's request for changes. These need real concurrent transactions, so
they run on PostgreSQL only.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import connection, connections

from profiles import services
from profiles.models import (
    Criterion,
    Profile,
    ProfileVersion,
    SignOff,
    Team,
    User,
    VersionEvent,
)
from tests.conftest import point_celery_at
from tests.drafting import fill, sign_all

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _tasks_run_here() -> Iterator[None]:
    """An approval's rescoring runs in this process, after its commit, even
    when an earlier test of the session pointed Celery at a worker of its own
    (which would go on writing to the database while the test ends)."""
    previous = point_celery_at("memory://", "cache+memory://", eager=True)
    yield
    broker, backend, eager = previous
    point_celery_at(broker, backend, eager=eager)


def _connect() -> psycopg.Connection[Any]:
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "localhost",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
    )


class Attempt(threading.Thread):
    """One service call in a thread of its own (so on a connection of its own)."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:  # the loser's refusal is the point of the test
            self.error = exc
        finally:
            connections.close_all()

    @property
    def won(self) -> bool:
        return self.error is None


def _waiting_on_locks(observer: psycopg.Connection[Any]) -> int:
    row = observer.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the attempts never reached the point the test waits for")
        time.sleep(0.02)


@contextmanager
def _window(table: str) -> Iterator[psycopg.Connection[Any]]:
    """Hold `table` locked until the block ends, as a slow statement would."""
    holder = _connect()
    observer = _connect()
    observer.autocommit = True
    try:
        holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield observer
        holder.commit()
    finally:
        holder.close()
        observer.close()


def _race(
    table: str, first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[Attempt, Attempt]:
    """Start `first`, let it block on `table`, start `second`, then open the window."""
    a, b = Attempt(first), Attempt(second)
    with _window(table) as observer:
        a.start()
        _until(lambda: _waiting_on_locks(observer) >= 1)
        b.start()
        _until(lambda: not b.is_alive() or _waiting_on_locks(observer) >= 2)
    a.join(30)
    b.join(30)
    assert not a.is_alive()
    assert not b.is_alive()
    return a, b


@pytest.fixture
def in_review(icp: Profile, rep: User, marketer: User, ops_manager: User) -> ProfileVersion:
    draft = fill(services.version_start_draft(actor=marketer, profile=icp), marketer)
    version = services.version_submit(actor=marketer, version=draft)
    sign_all(version, rep, marketer, ops_manager)
    version.refresh_from_db()
    return version


def _add_catch_all_disqualifier(version: ProfileVersion, actor: User, revision: int) -> Criterion:
    return services.criterion_add(
        actor=actor,
        version=ProfileVersion.objects.get(pk=version.pk),
        revision=revision,
        attribute="employees",
        operator="gte",
        value=0,
        kind="disqualifier",
    )


def _approve(version: ProfileVersion, actor: User, revision: int | None = None) -> ProfileVersion:
    return services.version_approve(
        actor=actor, version=ProfileVersion.objects.get(pk=version.pk), revision=revision
    )


def _raise_tier_a(version: ProfileVersion, actor: User, revision: int) -> ProfileVersion:
    return services.version_update(
        actor=actor,
        version=ProfileVersion.objects.get(pk=version.pk),
        revision=revision,
        rationale="Raise the bar.",
        threshold_a=90,
        threshold_b=40,
    )


def _assert_live_only_as_signed(version: ProfileVersion) -> None:
    version.refresh_from_db()
    if version.status != ProfileVersion.Status.APPROVED:
        return
    signed = set(SignOff.objects.filter(version=version).values_list("revision", "decision"))
    assert signed == {(version.revision, "approve")}
    approved = version.events.get(verb=VersionEvent.Verb.APPROVED)
    assert approved.revision == version.revision


def test_an_edit_racing_an_approval_that_started_first_loses_and_stores_nothing(
    in_review: ProfileVersion, ops_manager: User, marketer: User
) -> None:
    revision = in_review.revision
    approve, edit = _race(
        "profiles_signoff",
        lambda: _approve(in_review, ops_manager),
        lambda: _add_catch_all_disqualifier(in_review, marketer, revision),
    )

    assert (approve.won, edit.won) == (True, False)
    assert isinstance(edit.error, services.StaleRevisionError)
    assert "approved" in str(edit.error.messages[0])
    in_review.refresh_from_db()
    assert (in_review.status, in_review.revision) == ("approved", revision)
    assert not in_review.criteria.filter(kind="disqualifier").exists()
    _assert_live_only_as_signed(in_review)


def test_an_approval_racing_an_edit_that_started_first_loses(
    in_review: ProfileVersion, ops_manager: User, marketer: User
) -> None:
    revision = in_review.revision
    edit, approve = _race(
        "profiles_versionevent",
        lambda: _add_catch_all_disqualifier(in_review, marketer, revision),
        lambda: _approve(in_review, ops_manager, revision),
    )

    assert (edit.won, approve.won) == (True, False)
    assert isinstance(approve.error, services.StaleRevisionError)
    in_review.refresh_from_db()
    assert (in_review.status, in_review.revision) == ("in_review", revision + 1)
    _assert_live_only_as_signed(in_review)


def test_an_approval_racing_a_request_for_changes_does_not_go_live_over_it(
    in_review: ProfileVersion, ops_manager: User, rep: User, sales: Team
) -> None:
    request, approve = _race(
        "profiles_versionevent",
        lambda: services.signoff_give(
            actor=rep,
            version=ProfileVersion.objects.get(pk=in_review.pk),
            team=sales,
            decision="request_changes",
            note="Drop the funding criterion.",
        ),
        lambda: _approve(in_review, ops_manager),
    )

    assert (request.won, approve.won) == (True, False)
    assert isinstance(approve.error, services.StaleRevisionError)
    assert "Sales requested changes" in str(approve.error.messages[0])
    in_review.refresh_from_db()
    assert in_review.status == "draft"
    assert not in_review.events.filter(verb=VersionEvent.Verb.APPROVED).exists()


def test_a_request_for_changes_racing_an_approval_that_started_first_loses(
    in_review: ProfileVersion, ops_manager: User, rep: User, sales: Team
) -> None:
    approve, request = _race(
        "profiles_signoff",
        lambda: _approve(in_review, ops_manager),
        lambda: services.signoff_give(
            actor=rep,
            version=ProfileVersion.objects.get(pk=in_review.pk),
            team=sales,
            decision="request_changes",
            note="Drop the funding criterion.",
        ),
    )

    assert (approve.won, request.won) == (True, False)
    assert isinstance(request.error, services.StaleRevisionError)
    in_review.refresh_from_db()
    assert in_review.status == "approved"
    assert SignOff.objects.get(version=in_review, team=sales).decision == "approve"
    _assert_live_only_as_signed(in_review)


def test_a_withdrawal_racing_an_approval_that_started_first_loses(
    in_review: ProfileVersion, ops_manager: User, marketer: User
) -> None:
    approve, withdraw = _race(
        "profiles_signoff",
        lambda: _approve(in_review, ops_manager),
        lambda: services.version_withdraw(
            actor=marketer, version=ProfileVersion.objects.get(pk=in_review.pk)
        ),
    )

    assert (approve.won, withdraw.won) == (True, False)
    assert isinstance(withdraw.error, services.StaleRevisionError)
    in_review.refresh_from_db()
    assert in_review.status == "approved"


def test_an_approval_racing_a_settings_edit_that_started_first_loses_without_a_deadlock(
    in_review: ProfileVersion, ops_manager: User, marketer: User
) -> None:
    revision = in_review.revision
    edit, approve = _race(
        "profiles_versionevent",
        lambda: _raise_tier_a(in_review, marketer, revision),
        lambda: _approve(in_review, ops_manager, revision),
    )

    assert edit.error is None
    assert isinstance(approve.error, services.StaleRevisionError)
    in_review.refresh_from_db()
    assert (in_review.status, in_review.threshold_a) == ("in_review", 90)


def test_a_settings_edit_racing_an_approval_that_started_first_loses_without_a_deadlock(
    in_review: ProfileVersion, ops_manager: User, marketer: User
) -> None:
    revision = in_review.revision
    approve, edit = _race(
        "profiles_signoff",
        lambda: _approve(in_review, ops_manager, revision),
        lambda: _raise_tier_a(in_review, marketer, revision),
    )

    assert approve.error is None
    assert isinstance(edit.error, services.StaleRevisionError)
    in_review.refresh_from_db()
    assert (in_review.status, in_review.threshold_a) == ("approved", 70)
    _assert_live_only_as_signed(in_review)
