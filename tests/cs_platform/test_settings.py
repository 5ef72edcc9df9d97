"""Production settings refuse to start without secrets and pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 20 + "Zq7!pL0@xW3#mN8$vB1%cR5^tY9&uI2*oP4(" + "s" * 10
FERNET_KEY = "k0qEw4vH5b1c0e2ndcR5lTtsx6mDbXsCz2QpZq4Kp3U="


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    service_vars = (
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "QDRANT_URL",
        "VLLM_BASE_URL",
        "PII_ENCRYPTION_KEYS",
    )
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k not in service_vars
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "cs_platform.settings.production",
            "CS_VAR_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"DJANGO_ALLOWED_HOSTS": "cs.example.com"}, "DJANGO_SECRET_KEY must be set"),
        (
            {"DJANGO_ALLOWED_HOSTS": "cs.example.com", "DJANGO_SECRET_KEY": "short"},
            "DJANGO_SECRET_KEY must be set",
        ),
        ({"DJANGO_SECRET_KEY": STRONG_KEY}, "DJANGO_ALLOWED_HOSTS must list"),
        (
            {"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_ALLOWED_HOSTS": "cs.example.com"},
            "PII_ENCRYPTION_KEYS must hold",
        ),
    ],
)
def test_production_refuses_to_start(tmp_path: Path, env: dict[str, str], complaint: str) -> None:
    result = _run(["manage.py", "check"], tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def test_check_deploy_reports_nothing_above_info(tmp_path: Path) -> None:
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        DJANGO_SECRET_KEY=STRONG_KEY,
        DJANGO_ALLOWED_HOSTS="cs.example.com",
        PII_ENCRYPTION_KEYS=FERNET_KEY,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_embedded_default_needs_no_variable(tmp_path: Path) -> None:
    result = _run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
            "s.CELERY_TASK_ALWAYS_EAGER, s.QDRANT_URL == '', "
            "s.QDRANT_PATH.startswith(str(s.VAR_DIR)))",
        ],
        tmp_path,
        DJANGO_SETTINGS_MODULE="cs_platform.settings.local",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "True",
        "True",
        "True",
    ]
