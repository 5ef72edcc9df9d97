"""The production server's process layout (issue 19: a second worker on embedded Qdrant failed
every turn it got)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("QDRANT_URL", "WEB_CONCURRENCY")}
    return subprocess.run(
        [sys.executable, "-m", "cs_platform.serve", "--port", "0", *args],
        cwd=ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_several_workers_on_embedded_qdrant_refuse_to_start() -> None:
    result = _serve("--workers", "2")
    assert result.returncode == 2
    assert "2 workers need a Qdrant server: set QDRANT_URL" in result.stderr


def test_web_concurrency_without_a_qdrant_server_is_refused_too() -> None:
    result = _serve(WEB_CONCURRENCY="3")
    assert result.returncode == 2
    assert "3 workers need a Qdrant server" in result.stderr
