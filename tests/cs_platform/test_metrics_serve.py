"""The production server's workers count in Prometheus' multiprocess files (cs_platform.serve):
a scrape reads what the worker processes counted, from the folder the server emptied at start."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "serve-metrics-token-for-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_servers_workers_count_in_the_multiprocess_folder(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    stale = folder / "counter_999999.db"  # a previous run's process, long gone
    stale.write_bytes(b"\0" * 16)
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if k not in ("QDRANT_URL", "WEB_CONCURRENCY")}
    server = subprocess.Popen(
        [sys.executable, "-m", "cs_platform.serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env={
            **environ,
            "DJANGO_SETTINGS_MODULE": "cs_platform.settings.test",
            "PROMETHEUS_MULTIPROC_DIR": str(folder),
            "METRICS_TOKEN": TOKEN,
            "UVICORN_LOG_LEVEL": "warning",
        },
        stdout=(tmp_path / "server.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the server did not answer within 180 s"
            time.sleep(0.5)
        scrape = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    assert scrape.status_code == 200
    lines = scrape.text.splitlines()
    # The /healthz requests, counted by the worker process in its file, read back by the scrape.
    assert any(
        line.startswith('django_http_requests_total_by_method_total{method="GET"}')
        for line in lines
    ), scrape.text[:2000]
    assert not stale.exists()
    assert any(path.name.endswith(".db") for path in folder.iterdir())
