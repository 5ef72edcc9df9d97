"""A real server process (daphne, embedded default in a fresh folder) and a real browser."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.services import services_required

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "e2e-demo-password"
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "QDRANT_URL", "VLLM_BASE_URL")


@dataclass(frozen=True)
class Server:
    url: str
    var_dir: Path

    @property
    def database(self) -> Path:
        return self.var_dir / "db.sqlite3"

    def sign_in(self, page: Any, username: str, next_path: str, lands_on: str) -> None:
        """Signs a demo user in through the login page and waits for where it leads."""
        page.goto(f"{self.url}/accounts/login/?next={next_path}")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{self.url}{lands_on}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    var_dir = tmp_path_factory.mktemp("e2e-var")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SERVICE_VARS and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(CS_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="cs_platform.settings.local")
    _manage(env, "migrate", "--noinput")
    _manage(env, "demo_seed", "--password", PASSWORD, "--origin", url)
    log = (var_dir / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "cs_platform.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)  # noqa: S310 (loopback)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError((var_dir / "server.log").read_text()) from None
            time.sleep(0.3)
    yield Server(url=url, var_dir=var_dir)
    process.terminate()
    process.wait(timeout=10)
    log.close()


# Package scope: Playwright's sync API keeps an event loop running while it is open, which would
# break later tests that call asyncio.run (tests/ml/serving) if it stayed open for the session.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    yield from chromium()


def chromium() -> Iterator[Any]:
    """Headless Chromium for as long as the generator runs (skipped where it isn't installed)."""
    if not Path(CHROMIUM).exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if services_required():
            pytest.fail(f"{reason}; CS_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("CS_ARTIFACTS_DIR", ROOT / "var" / "artifacts" / "browser"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
