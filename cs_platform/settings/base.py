"""Settings shared by every environment.

Every service is chosen by one environment variable; with none set, the embedded default runs:
SQLite under ``var/``, the in-memory channel layer, eager Celery, Qdrant local mode under ``var/``.

| variable            | unset (embedded default)        | set (production services)          |
|---------------------|---------------------------------|------------------------------------|
| DATABASE_URL        | sqlite:///var/db.sqlite3        | postgres://...                     |
| REDIS_URL           | in-memory channel layer         | channels-redis on that server      |
| CELERY_BROKER_URL   | tasks run inline (eager)        | redis://... or amqp://...          |
| QDRANT_URL          | local mode at var/qdrant        | Qdrant server                      |
| VLLM_BASE_URL       | in-process generator            | vLLM OpenAI-compatible server      |
"""

import os
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ

# Lets admin classes and querysets take type parameters at run time (ModelAdmin[Workspace]).
django_stubs_ext.monkeypatch()

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env.str("CS_VAR_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "django_prometheus",
    "apps.core",
    "apps.accounts",
    "apps.chat",
    "apps.dialogue",
    "apps.feedback",
    "apps.safety",
    "apps.knowledge",
    "apps.nlu",
    "apps.generation",
    "apps.analytics",
    "apps.review",
    "apps.mlops",
]

MIDDLEWARE = [
    # /metrics for Prometheus' bearer token, ahead of the host and HTTPS checks.
    "cs_platform.metrics.MetricsMiddleware",
    # First and last: django-prometheus times each request and counts it by view and status.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "cs_platform.urls"
ASGI_APPLICATION = "cs_platform.asgi.application"
WSGI_APPLICATION = "cs_platform.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------


def production_pool_options() -> dict[str, Any]:
    """The psycopg pool of each process on PostgreSQL (see below)."""
    return {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=16),
        # Seconds a thread waits for a free connection before the request fails.
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=20.0),
        "max_idle": 60.0,
    }


DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads of the one server process write (each request and socket has its own
    # thread). WAL lets readers go on while one writes; the busy timeout waits for the writer
    # instead of failing; IMMEDIATE transactions take the write lock when they begin, so a
    # transaction never fails halfway when it moves from reading to writing (a deferred one gets
    # SQLITE_BUSY at once there, whatever the timeout). What can still meet a lock is retried
    # (apps.core.db.retry_on_database_lock).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # A pool per process (psycopg 3): every thread that reaches the database (each request and
    # socket runs in its own) borrows a connection and gives it back when its work is done, so a
    # process never holds more than DATABASE_POOL_MAX_SIZE, however many threads it ran.
    # Persistent per-thread connections (CONN_MAX_AGE) leaked one per worker thread under ASGI.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = production_pool_options()
    # A connection broken under the pool (a restarted server, a terminated backend) is found
    # when borrowed and replaced.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Threads a server process runs database calls in (apps.core.db.thread_pool_ensure): as many as
# it may hold pooled connections.
ASYNC_THREADS = env.int("ASYNC_THREADS", default=16)
# Async code reaches the ORM through a thread pool on a server database (see apps/core/db.py).
DB_ASYNC_THREAD_POOL = env.bool(
    "DB_ASYNC_THREAD_POOL", default=DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# Request bodies over this size are refused with 413 before any view parses them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

# --- channel layer --------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")


def redis_channel_layer(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 reads with a 5 s socket timeout by default, which aborts the layer's
            # blocking receive on every idle socket (channels_redis#422): no read timeout here.
            # Its pools also stop at 100 connections and then fail instead of waiting; a busy
            # web process publishes to many conversations at once.
            "hosts": [
                {
                    "address": url,
                    "socket_timeout": None,
                    "max_connections": env.int("CHANNEL_REDIS_MAX_CONNECTIONS", default=1000),
                }
            ],
            "capacity": 1000,
            "expiry": 60,
        },
    }


CHANNEL_LAYERS: dict[str, Any] = {
    "default": redis_channel_layer(REDIS_URL)
    if REDIS_URL
    else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
}

# --- cache (rate limits) ---------------------------------------------------------------------
CACHES: dict[str, Any]
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The response cache (apps/dialogue/response_cache.py) apart from the rate limits' counters, so
# that filling it never evicts one: in Redis with REDIS_URL (shared by every process), else in
# the process's memory (up to 20,000 entries).
CACHES["responses"] = (
    {**CACHES["default"], "KEY_PREFIX": "responses"}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "responses",
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
)

# --- celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured: run tasks inline, so the embedded default needs no worker process.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "purge-expired-conversations": {
        "task": "apps.chat.tasks.conversations_purge_expired",
        "schedule": 60 * 60,
    },
    "purge-expired-pii-originals": {
        "task": "apps.safety.tasks.originals_purge_expired",
        "schedule": 60 * 60,
    },
}

# --- vectors and generation -----------------------------------------------------------------
QDRANT_URL = env.str("QDRANT_URL", default="")
QDRANT_API_KEY = env.str("QDRANT_API_KEY", default="")
QDRANT_PATH = env.str("QDRANT_PATH", default=str(VAR_DIR / "qdrant"))
VLLM_BASE_URL = env.str("VLLM_BASE_URL", default="")
# The generator: a Hugging Face causal LM folder (by default the base that
# `python -m ml.generation.bootstrap` writes) and the registry of workspace LoRA adapters
# (<dir>/<workspace slug>/adapter).
GENERATION_BASE_MODEL = Path(
    env.str("GENERATION_BASE_MODEL", default=str(VAR_DIR / "models" / "generation" / "base"))
)
GENERATION_ADAPTERS_DIR = Path(
    env.str("GENERATION_ADAPTERS_DIR", default=str(VAR_DIR / "models" / "generation" / "adapters"))
)
# vLLM client: seconds to connect, to the first token (slower counts as down) and between tokens;
# retries before the first token; failures in a row that open the circuit, and for how long.
VLLM_CONNECT_TIMEOUT = env.float("VLLM_CONNECT_TIMEOUT", default=2.0)
VLLM_FIRST_TOKEN_TIMEOUT = env.float("VLLM_FIRST_TOKEN_TIMEOUT", default=8.0)
VLLM_TOKEN_TIMEOUT = env.float("VLLM_TOKEN_TIMEOUT", default=8.0)
VLLM_RETRIES = env.int("VLLM_RETRIES", default=1)
VLLM_BREAKER_FAILURES = env.int("VLLM_BREAKER_FAILURES", default=3)
VLLM_BREAKER_RESET_SECONDS = env.float("VLLM_BREAKER_RESET_SECONDS", default=30.0)
GENERATION_MAX_TOKENS = env.int("GENERATION_MAX_TOKENS", default=192)
# How a workspace's adapter trains from its knowledge base, and where its redacted records go.
GENERATION_ADAPTER_CONFIG = Path(
    env.str(
        "GENERATION_ADAPTER_CONFIG",
        default=str(BASE_DIR / "ml" / "configs" / "generation_workspace.yaml"),
    )
)
GENERATION_TRAINING_DATA_DIR = Path(
    env.str("GENERATION_TRAINING_DATA_DIR", default=str(VAR_DIR / "generation-data"))
)
GENERATION_PASSAGES = env.int("GENERATION_PASSAGES", default=3)
# Largest knowledge document an operator may upload (the request limit above applies too).
KNOWLEDGE_UPLOAD_MAX_BYTES = env.int("KNOWLEDGE_UPLOAD_MAX_BYTES", default=1024 * 1024)

# The demo site pages (/demo/<slug>/) show a workspace's widget key to anyone: local use only.
DEMO_PAGES_ENABLED = env.bool("DEMO_PAGES_ENABLED", default=False)

# --- NLU models -----------------------------------------------------------------------------
# Trained workspace models (artifact folders with SHA-256 manifests), one folder per run.
NLU_MODELS_DIR = Path(env.str("NLU_MODELS_DIR", default=str(VAR_DIR / "models" / "nlu")))
# How a workspace's model trains (ml.nlu.config.TrainingConfig fields): bounded by epochs and
# early stopping; max_minutes is only a safety net, and a run it cuts is marked in the admin.
# NLU_TRAINING (JSON) overrides fields, e.g. '{"epochs": 3}' for a benchmark's worker.
NLU_TRAINING = {
    "epochs": 8,
    "batch_size": 32,
    "lr": 0.002,
    "patience": 2,
    "max_minutes": 30.0,
    **env.json("NLU_TRAINING", default={}),
}

# --- personal data ---------------------------------------------------------------------------
# Fernet keys (comma-separated, newest first) that encrypt the originals of redacted messages.
PII_ENCRYPTION_KEYS: list[str] = env.list("PII_ENCRYPTION_KEYS", default=[])
# Keep Presidio's URL recognizer from fetching the public suffix list (no network at run time).
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

# --- product limits -------------------------------------------------------------------------
WIDGET_TOKEN_TTL_SECONDS = env.int("WIDGET_TOKEN_TTL_SECONDS", default=24 * 60 * 60)
MESSAGE_MAX_CHARS = env.int("MESSAGE_MAX_CHARS", default=4000)
# One WebSocket event (JSON text) may be at most this many bytes.
CHAT_EVENT_MAX_BYTES = env.int("CHAT_EVENT_MAX_BYTES", default=16 * 1024)
# Rate limits as "count/seconds": customer messages per session and per client IP, every event per
# socket, and widget session-token requests per IP.
CHAT_RATE_MESSAGES_PER_SESSION = env.str("CHAT_RATE_MESSAGES_PER_SESSION", default="20/60")
CHAT_RATE_MESSAGES_PER_IP = env.str("CHAT_RATE_MESSAGES_PER_IP", default="120/60")
CHAT_RATE_EVENTS_PER_SOCKET = env.str("CHAT_RATE_EVENTS_PER_SOCKET", default="120/60")
WIDGET_RATE_TOKENS_PER_IP = env.str("WIDGET_RATE_TOKENS_PER_IP", default="30/60")
# A socket with no event from its client for this long is closed (4408).
CHAT_IDLE_TIMEOUT_SECONDS = env.int("CHAT_IDLE_TIMEOUT_SECONDS", default=30 * 60)
# What answers a customer turn (import path of a class): the dialogue engine. A workspace with no
# trained NLU model yet gets answers from its knowledge base.
DIALOGUE_REPLIER = env.str("DIALOGUE_REPLIER", default="apps.dialogue.engine.EngineReplier")
# Every stored customer message gets one bot turn (apps.chat.models.BotTurn): the process running
# it holds a lease it renews; a turn whose process died or failed runs again once the lease is
# over, backing off, until the last attempt hands the conversation to a person. Each server
# process looks for such turns every TURN_RECOVERY_INTERVAL_SECONDS (0: never).
TURN_LEASE_SECONDS = env.float("TURN_LEASE_SECONDS", default=30.0)
# Cross-turn dynamic batching (ml/serving/batching.py): concurrent turns of one process share
# forward passes of the sentence encoder and of each workspace's NLU adapter. Under load a batch
# waits up to INFERENCE_BATCH_WAIT_MS for more turns; a turn that finds the process idle never
# waits. INFERENCE_BATCHING=0 switches it off.
INFERENCE_BATCHING = env.bool("INFERENCE_BATCHING", default=True)
# A server process loads the sentence encoder and every workspace's served NLU model before it
# answers anything (apps/dialogue/warmup.py), so it isn't ready before they are.
MODELS_PRELOAD = env.bool("MODELS_PRELOAD", default=True)
INFERENCE_BATCH_MAX = env.int("INFERENCE_BATCH_MAX", default=32)
INFERENCE_BATCH_WAIT_MS = env.float("INFERENCE_BATCH_WAIT_MS", default=4.0)
# The response cache (apps/dialogue/response_cache.py): NLU readings, retrieved passages and
# answers of frequent questions, keyed on the workspace, the question and every version they
# depend on (models, adapter, knowledge base). RESPONSE_CACHE=0 switches it off.
RESPONSE_CACHE = env.bool("RESPONSE_CACHE", default=True)
RESPONSE_CACHE_SECONDS = env.int("RESPONSE_CACHE_SECONDS", default=24 * 3600)
TURN_MAX_ATTEMPTS = env.int("TURN_MAX_ATTEMPTS", default=4)
TURN_RETRY_BACKOFF_SECONDS = env.float("TURN_RETRY_BACKOFF_SECONDS", default=2.0)
TURN_RECOVERY_INTERVAL_SECONDS = env.float("TURN_RECOVERY_INTERVAL_SECONDS", default=5.0)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.DefaultPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Customer-service platform API",
    "DESCRIPTION": "Workspaces, members, conversations and the customer widget.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's assets are served from the installed sidecar package, not a CDN (offline).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- metrics (Prometheus) -------------------------------------------------------------------
# GET /metrics answers only a request with "Authorization: Bearer <METRICS_TOKEN>" (401 without
# it); with METRICS_TOKEN unset it answers 404 to everyone, the embedded default included (a
# proxy in front of the server could make any client look like a loopback one).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A Celery worker serves its own metrics on this port (0: none), with the same token.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDR = env.str("WORKER_METRICS_ADDR", default="0.0.0.0")  # noqa: S104
# A customer message whose bot turn hasn't finished this long after it was stored is unanswered
# (the gauge cs_customer_messages_unanswered).
METRICS_UNANSWERED_AFTER_SECONDS = env.float("METRICS_UNANSWERED_AFTER_SECONDS", default=60.0)

# --- logging --------------------------------------------------------------------------------
# Message text never goes to the log: services log ids and counts only.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"scrub_personal_data": {"()": "apps.safety.logging.ScrubPersonalData"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["scrub_personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

# --- security: socket authentication, login throttling ---------------------------------------
# A widget socket sends its session token in its first event (never in the URL, which servers
# log); a socket that has not done so within this many seconds is closed (4401).
CHAT_AUTH_TIMEOUT_SECONDS = env.int("CHAT_AUTH_TIMEOUT_SECONDS", default=10)
# Password guessing on every sign-in (API token, admin, console login): this many failures within
# the window (count/seconds) of one user name, or from one address, lock that name or address out
# for SIGNIN_LOCKOUT_SECONDS; while locked, even the right password is refused (429).
SIGNIN_FAILURES_PER_USERNAME = env.str("SIGNIN_FAILURES_PER_USERNAME", default="5/900")
SIGNIN_FAILURES_PER_IP = env.str("SIGNIN_FAILURES_PER_IP", default="30/900")
SIGNIN_LOCKOUT_SECONDS = env.int("SIGNIN_LOCKOUT_SECONDS", default=15 * 60)
# Invitations to a workspace (by e-mail, accepted by the invitee) expire after this many days.
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)
# Where invitation e-mails go: EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587;
# the embedded default prints them to the console.
_EMAIL = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _EMAIL.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _EMAIL.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _EMAIL.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_EMAIL.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_EMAIL.get("EMAIL_USE_SSL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@localhost")
