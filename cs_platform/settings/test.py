"""What pytest runs with: the embedded default, plus speed-ups that change no behaviour under test.

DATABASE_URL / REDIS_URL / CELERY_BROKER_URL still switch to the real services (CI's services pass).
"""

import tempfile
from pathlib import Path

from cs_platform.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-secret-key-" + "t" * 40
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Each test run gets its own Qdrant local path: only one process may open a path.
QDRANT_PATH = tempfile.mkdtemp(prefix="cs-test-qdrant-")
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="cs-test-static-"))
WHITENOISE_USE_FINDERS = True
DEMO_PAGES_ENABLED = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests run tasks inline; the Celery tests that need a real broker and worker switch this off
# for themselves (tests/apps/chat/test_tasks_broker.py).
CELERY_TASK_ALWAYS_EAGER = True
# No persistent per-thread connections, as in production. The test suite runs without
# production's connection pool: pytest-asyncio gives each test its own event loop and executor
# threads, and the pool ran out of slots over the services pass (tests hung on the pool's
# timeout) while the server itself did not (benchmarks/chat_faults.py runs on the pool).
# tests/cs_platform/test_database_pool.py switches production's pool on for its own run.
DATABASES["default"]["OPTIONS"].pop("pool", None)
PII_ENCRYPTION_KEYS = ["k0qEw4vH5b1c0e2ndcR5lTtsx6mDbXsCz2QpZq4Kp3U="]
# Workspace models train on tiny data in tests: one epoch is enough to prove the path.
NLU_MODELS_DIR = Path(tempfile.mkdtemp(prefix="cs-test-nlu-"))
NLU_TRAINING = {"epochs": 1, "batch_size": 16, "lr": 0.002, "patience": 1}
# No background recovery loop in the tests' short-lived event loops (it would query a database
# the test is about to flush); the turn recovery tests run a pass themselves (turns_recover).
TURN_RECOVERY_INTERVAL_SECONDS = 0
# The test servers start without loading every workspace's NLU model at import (the database
# isn't there yet); tests/apps/dialogue/test_warmup.py runs the preload itself.
MODELS_PRELOAD = False
