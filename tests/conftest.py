"""Fixtures shared by the whole suite.

The fixed cast: `sales`, `marketing` and `revops` teams; `rep` is a sales
member, `manager` manages sales, `marketer` is a marketing member,
`ops_manager` manages RevOps (and so approves profiles), and `outsider`
belongs to no team. `icp` is a profile that needs sign-off from sales,
marketing and RevOps.
"""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.core.cache import cache
from django.db import connection
from pytest_django import DjangoDbBlocker
from pytest_django.fixtures import Settings

from icpsite.celery import app as celery_app
from profiles import services
from profiles.models import Membership, Profile, ProfileVersion, Team, User
from scoring import score_tables
from scoring.models import ScoringRun
from tests.drafting import approved_version, fill, sign_all
from tests.factories import MembershipFactory, ProfileFactory, TeamFactory, UserFactory
from tests.webhooks import Receiver

# The world every write is tried in (its `world` fixture): the permission
# matrix and the hostile corpus share it.
pytest_plugins = ["tests.write_endpoints", "tests.suggesting"]

ROOT = Path(__file__).resolve().parent.parent


def redis_url_here(variable: str, default: str) -> str:
    """The Redis database named by the environment `variable` (else
    `default`) for this test process. Under pytest-xdist each worker after
    the first (gw1, gw2, ...) takes the database four below the previous
    one's, so workers never flush or consume each other's queues."""
    url = os.environ.get(variable, default)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    if not worker:
        return url
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) - 4 * worker
    if database < 0:
        raise RuntimeError(f"{variable}: no Redis database left for xdist worker gw{worker}")
    return urlunsplit(parts._replace(path=f"/{database}"))


TEST_REDIS_URL = redis_url_here("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# A broker of its own, for a worker a test starts (and may stop) itself.
OUTAGE_REDIS_URL = redis_url_here("TEST_OUTAGE_REDIS_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture(autouse=True)
def _tasks_run_in_this_process() -> Iterator[None]:
    """Each test starts with Celery running tasks eagerly, in this process
    (where its mail outbox is), whatever the environment or an earlier test
    left it pointed at. A test that wants a real worker asks for
    celery_worker_process, or points Celery at its own (point_celery_at)."""
    conf = celery_app.conf
    if conf.task_always_eager:
        yield
        return
    previous = point_celery_at(str(conf.broker_url), str(conf.result_backend), eager=True)
    yield
    point_celery_at(*previous[:2], eager=previous[2])


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Settings) -> None:
    """Tests sign people in and seed the demo company; strong hashes would
    only spend CPU (PBKDF2 takes a good part of a second per password)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache (throttle counts, worked-out
    figures), whatever ran before it in this process."""
    cache.clear()


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Settings) -> None:
    """Serve static files without the production manifest, which needs collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# A public address (example.com's) that names under the domains kept for
# examples (RFC 2606) resolve to in tests.
EXAMPLE_ADDRESS = "93.184.215.14"
EXAMPLE_DOMAINS = ("example", "example.com", "example.net", "example.org")


@pytest.fixture(autouse=True)
def _example_names_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook addresses are resolved when subscribed and before delivery; the
    names tests use for them (crm.example, crm.example.com) resolve to a
    fixed public address without asking DNS, which a test run may not reach.
    Other names go to the real resolver; a test may patch it again."""
    real = socket.getaddrinfo

    def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> object:
        name = str(host).lower().rstrip(".")
        if any(name == d or name.endswith(f".{d}") for d in EXAMPLE_DOMAINS):
            port_number = int(port) if isinstance(port, int | str) and str(port).isdigit() else 0
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (EXAMPLE_ADDRESS, port_number))]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def sales(db: None) -> Team:
    return TeamFactory.create(name="Sales", slug="sales", function=Team.Function.SALES)


@pytest.fixture
def marketing(db: None) -> Team:
    return TeamFactory.create(name="Marketing", slug="marketing", function=Team.Function.MARKETING)


@pytest.fixture
def rep(sales: Team) -> User:
    return MembershipFactory.create(user__username="rep", team=sales).user


@pytest.fixture
def manager(sales: Team) -> User:
    return MembershipFactory.create(
        user__username="manager", team=sales, role=Membership.Role.MANAGER
    ).user


@pytest.fixture
def marketer(marketing: Team) -> User:
    return MembershipFactory.create(user__username="marketer", team=marketing).user


@pytest.fixture
def outsider(db: None) -> User:
    return UserFactory.create(username="outsider")


@pytest.fixture
def revops(db: None) -> Team:
    return TeamFactory.create(name="RevOps", slug="revops", function=Team.Function.REVOPS)


@pytest.fixture
def ops_manager(revops: Team) -> User:
    return MembershipFactory.create(
        user__username="ops", team=revops, role=Membership.Role.MANAGER
    ).user


@pytest.fixture
def icp(sales: Team, marketing: Team, revops: Team, ops_manager: User) -> Profile:
    return ProfileFactory.create(
        name="Mid-market SaaS",
        created_by=ops_manager,
        required_teams=[sales, marketing, revops],
        approving_teams=[revops],
    )


# --- Versions ------------------------------------------------------------------
# `draft` is FIT_100 drafted by the marketer, `in_review` the same submitted,
# `approved` the same signed off by every team and approved by RevOps, all
# through the services; `v1` is stored approved straight away (approved_version).


@pytest.fixture
def draft(icp: Profile, marketer: User) -> ProfileVersion:
    return fill(services.version_start_draft(actor=marketer, profile=icp), marketer)


@pytest.fixture
def in_review(draft: ProfileVersion, marketer: User) -> ProfileVersion:
    return services.version_submit(actor=marketer, version=draft)


@pytest.fixture
def approved(
    in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> ProfileVersion:
    sign_all(in_review, rep, marketer, ops_manager)
    return services.version_approve(actor=ops_manager, version=in_review)


@pytest.fixture
def v1(icp: Profile) -> ProfileVersion:
    """Employees 200-2,000 (60 points), has RevOps (40), North Korea disqualifies."""
    return approved_version(icp, 1, [200, 2000])


@pytest.fixture
def receiver(settings: Settings) -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1, which deliveries are allowed to reach."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    server = Receiver()
    yield server
    server.close()


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


CeleryTarget = tuple[str, str, bool]


def point_celery_at(broker: str, backend: str, *, eager: bool) -> CeleryTarget:
    """Reconfigure the process's Celery app and drop its cached connections,
    so the next task is sent through the new broker. Returns the settings it
    replaced, for the caller to point back at when done (a test's own worker
    must not leave later tests without the session's)."""
    conf = celery_app.conf
    previous = (str(conf.broker_url), str(conf.result_backend), bool(conf.task_always_eager))
    conf.update(broker_url=broker, result_backend=backend, task_always_eager=eager)
    # Private attributes of Celery that hold the cached connections; the stubs
    # do not declare them.
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app._backend_cache = None  # type: ignore[attr-defined]
    celery_app._local = threading.local()  # type: ignore[attr-defined]
    celery_app.__dict__.pop("amqp", None)
    return previous


# A Redis cache for tests that need one shared between processes.
CACHE_REDIS_URL = redis_url_here("TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/14")


def redis_cache(url: str) -> dict[str, Any]:
    """CACHES for a Redis cache at `url`, under a key prefix of its own."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            # A prefix of its own: nothing another test run keeps in this db is touched.
            "KEY_PREFIX": f"test-rate-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        }
    }


# Redis as it is when it is down: a closed port.
DOWN_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def cache_down(settings: Settings) -> None:
    """The cache pointed at a closed port, failing fast as production's does."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DOWN_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        }
    }


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Celery pointed at a closed port, as the web is when Redis is down."""
    broker, backend, eager = point_celery_at(DOWN_URL, DOWN_URL, eager=False)
    try:
        yield
    finally:
        point_celery_at(broker, backend, eager=eager)


def run_table_has_key(run: ScoringRun) -> bool | None:
    """On PostgreSQL, whether the run's own scores table has its primary
    key; None when the run has no table."""
    name = score_tables.table(run.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'p' "
            "AND conrelid = %s::regclass)",
            [name],
        )
        return bool(cursor.fetchone()[0])


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database it can share: run on PostgreSQL")
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(
    *,
    redis_url: str,
    database_url: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    module: str = "celery",
) -> subprocess.Popen[bytes]:
    """Start `celery worker` on both queues in a process group of its own
    (so a test can kill it with its pool children) and wait until it answers.
    `module` is what `python -m` runs with the celery arguments (see
    tests/quick_retries_worker.py)."""
    log = log_path.open("ab")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "-A",
            "icpsite",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            "default,scoring",
            "--hostname",
            f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    _wait_for_worker(worker, log_path)
    return worker


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def worker_database_url(django_db_blocker: DjangoDbBlocker) -> str:
    with django_db_blocker.unblock():
        return _database_url()


def require_redis(url: str) -> None:
    if not _redis_answers(url):
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {url}")
        pytest.skip(f"Redis does not answer at {url}")


@pytest.fixture(scope="session")
def _celery_worker_started(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery worker` process on Redis and the test database, started
    once for the test process (celery_worker_process points a test at it)."""
    require_redis(TEST_REDIS_URL)
    database_url = worker_database_url(django_db_blocker)
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    # Pointed at the worker's broker while it starts: start_worker pings it.
    previous = point_celery_at(TEST_REDIS_URL, TEST_REDIS_URL, eager=False)
    try:
        worker = start_worker(
            redis_url=TEST_REDIS_URL, database_url=database_url, log_path=log_path
        )
    finally:
        point_celery_at(*previous[:2], eager=previous[2])
    try:
        yield worker
    finally:
        stop_worker(worker)


@pytest.fixture
def celery_worker_process(
    _celery_worker_started: subprocess.Popen[bytes],
) -> Iterator[subprocess.Popen[bytes]]:
    """The real worker process, with this process's Celery sending it tasks
    through Redis for the length of the test; later tests send none there
    (they run their tasks eagerly, as the settings say).

    Tests that use it must also use `transactional_db`, so that what they
    write is committed and visible to the worker.
    """
    previous = point_celery_at(TEST_REDIS_URL, TEST_REDIS_URL, eager=False)
    try:
        yield _celery_worker_started
    finally:
        point_celery_at(*previous[:2], eager=previous[2])


def _wait_for_worker(worker: subprocess.Popen[bytes], log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            break
        if celery_app.control.ping(timeout=1.0):
            return
    tail = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"no Celery worker answered within {timeout} s; its log ends:\n{tail}")
