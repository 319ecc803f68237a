"""Settings come from environment variables alone."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.settings_loader import SETTINGS_FILE, load_settings


def test_it_defaults_to_a_sqlite_file_in_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(monkeypatch)
    db = s.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(db["NAME"]) == SETTINGS_FILE.parent.parent / "db.sqlite3"


def test_it_reads_postgresql_from_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(monkeypatch, DATABASE_URL="postgres://icp:s3cret@db.internal:6543/icpsite")
    db = s.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"], db["PASSWORD"]) == (
        "db.internal",
        6543,
        "icpsite",
        "icp",
        "s3cret",
    )
    assert db["CONN_HEALTH_CHECKS"] is True


def test_it_runs_celery_eagerly_without_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(monkeypatch)
    assert s.CELERY_TASK_ALWAYS_EAGER is True
    assert s.CELERY_BROKER_URL == "memory://"
    assert s.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def test_it_uses_redis_as_broker_backend_and_cache_with_redis_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = load_settings(monkeypatch, REDIS_URL="redis://cache.internal:6379/2")
    assert s.CELERY_TASK_ALWAYS_EAGER is False
    assert s.CELERY_BROKER_URL == "redis://cache.internal:6379/2"
    assert s.CELERY_RESULT_BACKEND == "redis://cache.internal:6379/2"
    assert s.CACHES["default"]["LOCATION"] == "redis://cache.internal:6379/2"


def test_the_cache_and_the_broker_give_up_on_redis_within_its_timeouts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = load_settings(
        monkeypatch,
        REDIS_URL="redis://cache.internal:6379/2",
        REDIS_CONNECT_TIMEOUT="0.25",
        REDIS_SOCKET_TIMEOUT="3",
    )
    assert s.CACHES["default"]["OPTIONS"] == {"socket_connect_timeout": 0.25, "socket_timeout": 3}
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] == 0.25
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"] == 3
    assert s.CELERY_BROKER_CONNECTION_TIMEOUT == 0.25
    assert s.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"] == 1


def test_it_rejects_a_timeout_it_cannot_read(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="REDIS_SOCKET_TIMEOUT"):
        load_settings(monkeypatch, REDIS_SOCKET_TIMEOUT="two")


def test_it_refuses_no_weeks_for_the_usual_surprises(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        ImproperlyConfigured, match="REVIEWS_SURPRISE_USUAL_WEEKS must be at least 1"
    ):
        load_settings(monkeypatch, REVIEWS_SURPRISE_USUAL_WEEKS="0")


def test_jit_off_is_added_to_the_connection_options_database_url_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = load_settings(
        monkeypatch,
        DATABASE_URL="postgres://icp@db.internal/icpsite?options=-c%20statement_timeout%3D5000",
    )
    assert s.DATABASES["default"]["OPTIONS"]["options"] == "-c statement_timeout=5000 -c jit=off"


def test_celery_is_configured_for_safe_redelivery(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(monkeypatch)
    assert s.CELERY_TASK_SERIALIZER == "json"
    assert s.CELERY_ACCEPT_CONTENT == ["json"]
    assert s.CELERY_TASK_ACKS_LATE is True
    assert s.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert s.CELERY_TASK_SOFT_TIME_LIMIT < s.CELERY_TASK_TIME_LIMIT
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > s.CELERY_TASK_TIME_LIMIT


def test_debug_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(monkeypatch).DEBUG is False
    assert load_settings(monkeypatch, DEBUG="true").DEBUG is True


def test_it_rejects_a_boolean_it_cannot_read(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false, not 'maybe'"):
        load_settings(monkeypatch, DEBUG="maybe")


def test_it_splits_allowed_hosts_on_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(monkeypatch, ALLOWED_HOSTS=" icp.example.com, www.icp.example.com ,")
    assert s.ALLOWED_HOSTS == ["icp.example.com", "www.icp.example.com"]


def test_https_turns_on_secure_cookies_and_hsts(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(monkeypatch, HTTPS="true")
    assert s.SESSION_COOKIE_SECURE
    assert s.CSRF_COOKIE_SECURE
    assert s.SECURE_SSL_REDIRECT
    assert s.SECURE_HSTS_SECONDS == 31_536_000
    assert s.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")


def test_email_goes_to_smtp_only_when_a_host_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(monkeypatch).EMAIL_BACKEND.endswith("console.EmailBackend")
    s = load_settings(monkeypatch, EMAIL_HOST="smtp.example.com")
    assert s.EMAIL_BACKEND.endswith("smtp.EmailBackend")
    assert s.EMAIL_HOST == "smtp.example.com"
