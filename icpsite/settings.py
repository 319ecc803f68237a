"""icpsite settings, read from environment variables alone.

Every variable is listed, with its default, in README.md and .env.example.
With no variables set the site runs embedded: a SQLite file in the project
and Celery tasks executed eagerly in-process.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
import orjson
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = env_str(name)
    if not raw:
        return default
    value = raw.lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_float(name: str, default: float) -> float:
    raw = env_str(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if not raw:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# The fallback key is marked insecure on purpose: `check --deploy` flags it.
SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-local-development-key-do-not-deploy"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    "profiles",
    "scoring",
    "reviews",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "icpsite.caching.NeverCacheSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "icpsite.urls"
WSGI_APPLICATION = "icpsite.wsgi.application"
ASGI_APPLICATION = "icpsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "profiles.context_processors.my_teams",
                "reviews.context_processors.my_work",
            ],
            # One number format on every page and in every email: the
            # count, money, percent and ratio filters (icpsite.numbers).
            "builtins": ["icpsite.templatetags.numbers"],
        },
    },
]

# Database: DATABASE_URL, e.g. postgres://user:pass@host:5432/icpsite.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env_bool(
    "DATABASE_JIT"
):
    # PostgreSQL's JIT compiles any statement estimated above a cost
    # threshold, 15-300 ms each time: the accounts list's page, costed with
    # the parts it skips at run time, took 0.3 s to compile for a query that
    # ran in under a millisecond. DATABASE_JIT=true leaves it on.
    # Added to any options DATABASE_URL sets (a statement_timeout, a search_path).
    connection_options = DATABASES["default"].setdefault("OPTIONS", {})
    connection_options["options"] = f"{connection_options.get('options', '')} -c jit=off".strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent connections buy nothing on SQLite; IMMEDIATE transactions
    # take the write lock up front so concurrent writers wait instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    # Tests get a file, not Django's shared in-memory database: there a
    # browser test's server thread and the test itself lock each other out
    # ("database table is locked") instead of waiting their turn.
    # One file per process, so two test runs side by side keep apart.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"icpsite-test-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "profiles.User"
# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "profiles.auth.UsernameOrEmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling (django-axes), on the sign-in page and the admin alike:
# after SIGN_IN_FAILURE_LIMIT wrong passwords for one person from one
# address, that pair is refused for SIGN_IN_COOL_OFF_MINUTES, counted from
# the last try. Per person and address together, so nobody can lock a
# colleague out from everywhere; the email and the username count as one.
AXES_FAILURE_LIMIT = env_int("SIGN_IN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGN_IN_COOL_OFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "profiles.auth.sign_in_name"
AXES_CLIENT_IP_CALLABLE = "profiles.auth.client_address"
AXES_LOCKOUT_CALLABLE = "profiles.auth.locked_out"
AXES_VERBOSE = False  # no banner on every start and manage.py command
# Proxies in front of the site that each append the address they were
# reached from to X-Forwarded-For (a load balancer: 1). With 0 the header is
# ignored: anyone can write it, and a forged one would dodge the lockout.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# HTTPS=true when the site is served over TLS (directly or behind a proxy that
# sets X-Forwarded-Proto): secure cookies, HSTS and a redirect to https.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # probed over plain http inside the network
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts and styles from the site's own static files only: no inline script,
# style or event handler anywhere (HTMX's inline indicator style is turned off
# in base.html). The API docs page loosens style-src for itself alone.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Email: SMTP when EMAIL_HOST is set, otherwise printed to the console.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "icpsite <icpsite@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Redis: broker, result backend and cache. Absent: tasks run eagerly in-process.
REDIS_URL = env_str("REDIS_URL")
# A Redis that does not answer must fail a page's cache read or a task's
# send fast, not hang it: seconds to connect, and to wait for an answer
# (above 1: a worker's BRPOP waits 1 s for a task).
REDIS_CONNECT_TIMEOUT = env_float("REDIS_CONNECT_TIMEOUT", 0.5)
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 2.0)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged only when it has finished, so a worker that dies
# mid-task hands it back to the broker; every task must be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
# Redis redelivers an unacknowledged task after this long: the task of a
# worker killed outright comes back only then. It must exceed the longest task
# (CELERY_TASK_TIME_LIMIT) and the longest retry countdown (10 minutes), so a
# slow task is not handed to a second worker while it runs; an hour keeps a
# killed worker's rescoring chunk from waiting longer than it must.
# Workers look for such overdue tasks every CELERY_RESTORE_CHECK_SECONDS
# (kombu's own default checks on every tenth 10-second tick).
VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": VISIBILITY_TIMEOUT,
    "unacked_restore_interval": env_int("CELERY_RESTORE_CHECK_SECONDS", 100),
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}
# Sending a task when the broker does not answer: one quick retry, then the
# sender gives up (icpsite.celery.task_send logs it, and the sweep on beat
# sends it later). Kombu's default, three retries, added 0.6 s to every
# refused send, and without the socket timeouts above a Redis that accepts
# connections but does not answer held the send for ever.
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Celery's Django fixup closes every database connection before and after
# every task unless this is set: a new PostgreSQL backend per task, which
# cost a rescoring chunk about 0.1 s of cold caches. With it set, workers
# treat connections as Django does between requests instead (CONN_MAX_AGE,
# health checks; see icpsite/celery.py), and Celery closes them itself only
# after this many tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Rescoring runs on a queue of its own so a long run never delays emails or
# webhooks; start workers with `-Q default,scoring` or one per queue.
CELERY_TASK_ROUTES = {"scoring.*": {"queue": "scoring"}}

# Account ids per rescoring chunk task.
SCORING_CHUNK_SIZE = env_int("SCORING_CHUNK_SIZE", 50_000)
# A run with no progress for this long lost a task (see scoring.services.
# runs_stalled) and is finished by the rescue on beat. Longer than the
# visibility timeout and a task's time limit, so a task Redis still holds for a
# killed worker comes back before the rescue steps in.
SCORING_STALL_SECONDS = env_int(
    "SCORING_STALL_SECONDS", VISIBILITY_TIMEOUT + CELERY_TASK_TIME_LIMIT
)
# A task handed to the broker that has not started this long after it was
# due is sent again by the sweep on beat (every minute); one the broker
# refused is sent at the sweep's next look. See scoring.tasks.resend_unsent_task.
TASK_RESEND_SECONDS = env_int("TASK_RESEND_SECONDS", 600)
# Days the scores feed keeps reporting a removed account to syncs that read
# changes since a cursor from before its removal; pruned nightly on beat. A
# cursor older than this may have missed a pruned removal and is refused
# (its sync starts over without changed_since).
FEED_TOMBSTONE_RETENTION_DAYS = env_int("FEED_TOMBSTONE_RETENTION_DAYS", 30)
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# Reviews: check-ins, drift checks and the weekly manager digest (see README).
REVIEWS_CHECKIN_LEAD_DAYS = env_int("REVIEWS_CHECKIN_LEAD_DAYS", 14)
REVIEWS_DRIFT_WINDOW_DAYS = env_int("REVIEWS_DRIFT_WINDOW_DAYS", 90)
REVIEWS_DRIFT_MIN_DEALS = env_int("REVIEWS_DRIFT_MIN_DEALS", 20)
REVIEWS_DRIFT_LOW_RISK_TIERS = env_list("REVIEWS_DRIFT_LOW_RISK_TIERS", ["A", "B"])
REVIEWS_DRIFT_CHURN_RATIO_PERCENT = env_int("REVIEWS_DRIFT_CHURN_RATIO_PERCENT", 150)
REVIEWS_DRIFT_MIN_CHURNED = env_int("REVIEWS_DRIFT_MIN_CHURNED", 5)
REVIEWS_SURPRISE_DAYS = env_int("REVIEWS_SURPRISE_DAYS", 30)
# "Usual" for a kind of surprise: its weekly average over this many weeks
# before the current one.
REVIEWS_SURPRISE_USUAL_WEEKS = env_int("REVIEWS_SURPRISE_USUAL_WEEKS", 8, minimum=1)
REVIEWS_QUEUE_TOP_MOVES = env_int("REVIEWS_QUEUE_TOP_MOVES", 10)
# Attribute lift (reviews.suggestions, docs/suggestions.md): the closed deals
# a value needs before its win rate counts as evidence, and how far back the
# default window reaches at the least.
REVIEWS_LIFT_MIN_DEALS = env_int("REVIEWS_LIFT_MIN_DEALS", 30)
REVIEWS_LIFT_MIN_WINDOW_DAYS = env_int("REVIEWS_LIFT_MIN_WINDOW_DAYS", 365)
# Accepted overrides on accounts with one value that claim the same way
# before they are a suggestion of their own (reviews.suggestions.suggest).
REVIEWS_CLUSTER_MIN_OVERRIDES = env_int("REVIEWS_CLUSTER_MIN_OVERRIDES", 5)
# How long worked-out suggestions of a version's revision are kept.
REVIEWS_SUGGESTIONS_CACHE_SECONDS = env_int("REVIEWS_SUGGESTIONS_CACHE_SECONDS", 600)
# The site's address as people reach it, for links in emails.
SITE_URL = env_str("SITE_URL", "http://localhost:8000")
CELERY_BEAT_SCHEDULE.update(
    {
        "reviews-schedule-checkins": {
            "task": "reviews.schedule_checkins",
            "schedule": crontab(hour=5, minute=0),
        },
        "reviews-detect-drift": {
            "task": "reviews.detect_drift",
            "schedule": crontab(hour=5, minute=30),
        },
        "scoring-rescue-stalled-runs": {
            "task": "scoring.rescue_stalled_runs",
            "schedule": 300.0,
        },
        "outbox-resend-unsent": {
            "task": "outbox.resend_unsent",
            "schedule": 60.0,
        },
        "webhooks-prune-attempts": {
            "task": "webhooks.prune_attempts",
            "schedule": crontab(hour=4, minute=30),
        },
        "scoring-prune-tombstones": {
            "task": "scoring.prune_tombstones",
            "schedule": crontab(hour=4, minute=45),
        },
        "reviews-weekly-digest": {
            "task": "reviews.send_digests",
            "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
        },
        "reviews-email-unsent-notifications": {
            "task": "reviews.email_unsent_notifications",
            "schedule": 60.0,
        },
    }
)

# Requests per API key (or per signed-in person) through the API: a number
# and a period (second, minute, hour, day), e.g. 3000/minute. Counted in the
# cache: per process without REDIS_URL, shared with it.
API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "3000/minute")

# Webhook targets (scoring/webhook_targets.py): https to public addresses
# only, checked on subscribing and again before each delivery. http:// is
# accepted only with WEBHOOK_ALLOW_HTTP; hosts in WEBHOOK_ALLOWED_HOSTS (names
# or IP addresses, as written in the URL) may be internal, for an on-premises
# receiver.
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", False)
# Days each webhook delivery attempt is kept in the delivery log (the
# deliveries themselves stay); pruned nightly on beat.
WEBHOOK_ATTEMPT_RETENTION_DAYS = env_int("WEBHOOK_ATTEMPT_RETENTION_DAYS", 30)
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])

REST_FRAMEWORK = {
    # Where orjson renders (the scores feed), datetimes in UTC end in "Z", as
    # DRF's own encoder writes them.
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_UTC_Z,),
    # The key first: a request with no credentials answers 401 with
    # WWW-Authenticate: Bearer; the browser's session works as before.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "scoring.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": ["icpsite.api.parsers.StrictJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["icpsite.api.throttling.ClientRateThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "icpsite API",
    "DESCRIPTION": "Accounts and outcomes in, ICP scores and tiers out.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TierEnum": "scoring.engine.Tier",
        "WebhookEventEnum": "scoring.models.WebhookEvent",
        "DeliveryStatusEnum": "scoring.models.DeliveryStatus",
        "RunStatusEnum": "scoring.models.RunStatus",
        "DealStateEnum": "scoring.models.DealState",
        "DealTypeEnum": "scoring.models.DealType",
        "OverrideStatusEnum": "reviews.models.OverrideStatus",
        "CheckInKindEnum": "reviews.models.CheckInKind",
        "VersionStatusEnum": "profiles.models.VersionStatus",
        "CriterionKindEnum": "profiles.models.CriterionKind",
        "OperatorEnum": "profiles.attributes.OPERATOR_CHOICES",
        "TraitTypeEnum": "profiles.models.TRAIT_TYPE_CHOICES",
        "CriterionOutcomeEnum": ["matched", "not_matched", "unknown"],
        "CheckInOutcomeEnum": "reviews.models.CheckInOutcome",
        "AllOrNothingModeEnum": ["all_or_nothing"],
        "ValidOnlyModeEnum": ["valid_only"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
