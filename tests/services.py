"""Reaching the real services from tests.

A test that needs PostgreSQL, Redis or a Celery broker calls ``require`` with a probe. When the
service is absent the test is skipped with the reason, except where ``CS_REQUIRE_SERVICES=1``
(CI sets it): there an absent service fails the test, so CI can't pass on skipped service tests.
"""

import os
import socket
from urllib.parse import urlsplit

import pytest

REDIS_URL = (
    os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or ("redis://127.0.0.1:6379/15")
)
BROKER_URL = (
    os.environ.get("TEST_CELERY_BROKER_URL")
    or os.environ.get("CELERY_BROKER_URL")
    or ("redis://127.0.0.1:6379/14")
)


def services_required() -> bool:
    return os.environ.get("CS_REQUIRE_SERVICES") == "1"


def tcp_reachable(url: str, default_port: int) -> str | None:
    """None when something listens at the URL's host and port, else why not."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return None
    except OSError as exc:
        return f"{host}:{port} unreachable ({exc.__class__.__name__})"


def require(name: str, url: str, default_port: int) -> None:
    why = tcp_reachable(url, default_port)
    if why is None:
        return
    message = f"{name} is not running: {why}"
    if services_required():
        pytest.fail(f"{message}; CS_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
    pytest.skip(message)
