"""deploy/compose.yaml's health check, run as written against the app configured as
.env.example configures production: it must find the web process healthy."""

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from cs_platform.asgi import application

ROOT = Path(__file__).resolve().parents[2]


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.split("  #", 1)[0].strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _healthcheck() -> list[str]:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    test: list[str] = compose["services"]["web"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return test[1:]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_compose_health_check_passes_with_the_example_settings(settings: Any) -> None:
    example = _env_example()
    # What production.py makes of those variables.
    settings.ALLOWED_HOSTS = example["DJANGO_ALLOWED_HOSTS"].split(",")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    server_socket.bind(("127.0.0.1", 0))
    port = server_socket.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[server_socket]))
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        # The check talks to port 8000 (or $PORT): here the test server's.
        command = [part.replace(":8000/", f":{port}/") for part in _healthcheck()]
        assert command[0] == "python"
        env = {**os.environ, **example, "PORT": str(port)}
        probe = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, *command[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.should_exit = True
        await serving
    assert probe.returncode == 0, probe.stderr
