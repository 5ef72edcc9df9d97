"""The alert rules and a real Prometheus (Debian package ``prometheus``; ``make prometheus``).

``promtool`` checks the rules and runs their unit tests (deploy/prometheus/tests); then a real
Prometheus server on loopback scrapes the app, served by the real ASGI server with the token,
and a real Celery worker's metrics port where a broker runs, and the product's metrics are read
back through Prometheus' query API. Without the package these tests skip with the reason, except
under CS_REQUIRE_SERVICES=1 (CI), where that is a failure.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.chat.models import Conversation
from apps.chat.services import conversation_handoff
from cs_platform.asgi import application
from tests.factories import ConversationFactory
from tests.servers import running_server
from tests.services import BROKER_URL, require, services_required

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "cs_platform.yml"
RULE_TESTS = sorted((ROOT / "deploy" / "prometheus" / "tests").glob("*.yml"))
TOKEN = "prometheus-scrape-token-for-tests"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package prometheus: `make prometheus`)"
        if services_required():
            pytest.fail(f"{message}; CS_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_promtool_checks_the_rules_and_passes_their_unit_tests() -> None:
    promtool = _binary("promtool")
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert RULE_TESTS, "no rule tests in deploy/prometheus/tests"
    tested = subprocess.run(
        [promtool, "test", "rules", *map(str, RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_scrape_config_is_valid(tmp_path: Path) -> None:
    promtool = _binary("promtool")
    config = (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
    token = tmp_path / "metrics-token"
    token.write_text(TOKEN)
    (tmp_path / "rules").mkdir()
    shutil.copy(RULES, tmp_path / "rules" / RULES.name)
    local = tmp_path / "prometheus.yml"
    local.write_text(config.replace("/etc/prometheus/metrics-token", str(token)))
    checked = subprocess.run(
        [promtool, "check", "config", str(local)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@contextmanager
def prometheus_server(tmp_path: Path, targets: dict[str, str]) -> Iterator[str]:
    """A real Prometheus scraping ``targets`` (job -> host:port) every second with the token,
    with the platform's rules loaded; yields its base URL and stops it after the block."""
    binary = _binary("prometheus")
    token = tmp_path / "metrics-token"
    token.write_text(TOKEN)
    jobs = "".join(
        f"""
  - job_name: {job}
    authorization:
      type: Bearer
      credentials_file: {token}
    static_configs:
      - targets: ["{target}"]
"""
        for job, target in targets.items()
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {RULES}
scrape_configs:{jobs}"""
    )
    port = _free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/-/ready", timeout=2).status_code == 200, "ready")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"Prometheus: {what} not seen within {timeout:.0f} s"
        time.sleep(0.5)


def _query(base: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def _value(base: str, promql: str) -> float | None:
    result = _query(base, promql)
    return float(result[0]["value"][1]) if result else None


@pytest.mark.django_db(transaction=True)
def test_a_real_prometheus_scrapes_the_apps_metrics_with_the_token(
    tmp_path: Path, settings: Any, workspace_a: Any
) -> None:
    _binary("prometheus")
    settings.METRICS_TOKEN = TOKEN
    ConversationFactory.create_batch(
        3, workspace=workspace_a, status=Conversation.Status.WAITING_FOR_AGENT
    )
    handed = ConversationFactory(workspace=workspace_a, status=Conversation.Status.BOT)
    conversation_handoff(conversation_id=handed.id, reason="customer_request")

    with (
        running_server(application) as app,
        prometheus_server(tmp_path, {"cs-web": app.removeprefix("http://")}) as prometheus,
    ):
        _wait(lambda: _value(prometheus, 'up{job="cs-web"}') == 1.0, "the app up")
        assert httpx.get(f"{app}/healthz", timeout=10).status_code == 200
        _wait(
            lambda: _value(prometheus, "cs_conversations_waiting_for_agent") == 4.0,
            "the agents' queue",
        )
        assert _value(prometheus, 'cs_handoffs_total{reason="customer_request"}') is not None
        assert _value(prometheus, "cs_customer_messages_unanswered") == 0.0
        _wait(
            lambda: _value(prometheus, "sum(django_http_requests_total_by_method_total)"),
            "django-prometheus' request count",
        )
        assert _value(prometheus, "sum(django_db_execute_total)") is not None
        rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {group["name"] for group in rules} >= {"cs-drift", "cs-quality", "cs-celery"}
        assert all(rule["health"] != "err" for group in rules for rule in group["rules"])


@pytest.mark.services
def test_a_real_prometheus_scrapes_a_celery_workers_task_counts(tmp_path: Path) -> None:
    require("Celery broker", BROKER_URL, 6379 if BROKER_URL.startswith("redis") else 5672)
    _binary("prometheus")
    from cs_platform.celery import app as celery_app

    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "DJANGO_SETTINGS_MODULE": "cs_platform.settings.test",
        "CELERY_BROKER_URL": BROKER_URL,
        "METRICS_TOKEN": TOKEN,
        "WORKER_METRICS_PORT": str(port),
        "WORKER_METRICS_ADDR": "127.0.0.1",
    }
    queue = f"metrics-test-{port}"
    # The prefork pool: tasks run in a child process, counted in the multiprocess files of a
    # folder the worker makes itself (PROMETHEUS_MULTIPROC_DIR unset, as in deploy/compose.yaml).
    command = [sys.executable, "-m", "celery", "-A", "cs_platform", "worker", "--pool", "prefork"]
    worker = subprocess.Popen(
        [*command, "--concurrency", "1", "--queues", queue, "--loglevel", "WARNING"],
        env=env,
        cwd=ROOT,
        stdout=(tmp_path / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        with prometheus_server(tmp_path, {"cs-worker": f"127.0.0.1:{port}"}) as prometheus:
            _wait(lambda: _value(prometheus, 'up{job="cs-worker"}') == 1.0, "the worker up", 90)
            with celery_app.connection_for_write(BROKER_URL) as connection:
                # A built-in task that needs no database: cleaning up a result backend (none).
                celery_app.send_task("celery.backend_cleanup", queue=queue, connection=connection)
            _wait(
                lambda: (
                    _value(
                        prometheus,
                        'cs_celery_tasks_total{job="cs-worker",task="celery.backend_cleanup",'
                        'state="succeeded"}',
                    )
                    == 1.0
                ),
                "the worker's task count",
            )
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
