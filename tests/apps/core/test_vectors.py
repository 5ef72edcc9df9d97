"""One process owns the embedded vector store (issue 23: a separate Celery worker and a second
web server opened the local Qdrant folder and failed turns and tasks later, with qdrant-client's
"already accessed by another instance")."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Task
from django.test import override_settings

from apps.core import vectors
from apps.core.vectors import VectorStoreRefused, VectorTask, vector_store_claim
from cs_platform.celery import _vector_store_left_to_web, app

ROOT = Path(__file__).resolve().parents[3]

# The first process: a server process that has opened the store and keeps using it.
OWNER = """
import django
django.setup()
from qdrant_client import models as qm
from apps.core.vectors import qdrant_client
client = qdrant_client()
client.create_collection("c", vectors_config=qm.VectorParams(size=2, distance=qm.Distance.DOT))
client.upsert("c", points=[qm.PointStruct(id=1, vector=[1.0, 0.0])], wait=True)
print("ready", flush=True)
input()
client.upsert("c", points=[qm.PointStruct(id=2, vector=[0.0, 1.0])], wait=True)
hits = client.query_points("c", query=[1.0, 0.0], limit=2).points
print("count", client.count("c").count, "top", hits[0].id, flush=True)
"""


def _environ(var_dir: Path) -> dict[str, str]:
    drop = ("QDRANT_URL", "QDRANT_PATH", "CELERY_BROKER_URL", "WEB_CONCURRENCY")
    environ = {k: v for k, v in os.environ.items() if k not in drop}
    return {
        **environ,
        "DJANGO_SETTINGS_MODULE": "cs_platform.settings.local",
        "CS_VAR_DIR": str(var_dir),
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def owner(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", OWNER],
        cwd=ROOT,
        env=_environ(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize(
    "server",
    [
        ["-m", "daphne", "-b", "127.0.0.1", "-p", "0", "cs_platform.asgi:application"],
        ["-m", "cs_platform.serve", "--host", "127.0.0.1", "--port", "0", "--workers", "1"],
    ],
    ids=["daphne", "serve"],
)
def test_a_second_web_server_is_refused_at_start_and_the_first_keeps_working(
    owner: subprocess.Popen[str], tmp_path: Path, server: list[str]
) -> None:
    second = subprocess.run(
        [sys.executable, *server],
        cwd=ROOT,
        env=_environ(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Ended: daphne with an error status; cs_platform.serve's supervisor stops when its worker
    # exits with uvicorn's "failed to start" status (its own status is uvicorn's, 0 today).
    assert second.returncode != 0 or server[1] == "cs_platform.serve"
    assert "failed to start, stopping the parent process" in second.stderr or server[1] == "daphne"
    folder = os.path.realpath(tmp_path / "qdrant")
    assert f"The embedded vector store {folder} is in use by process {owner.pid} (" in second.stderr
    assert "set QDRANT_URL to a Qdrant server" in second.stderr
    assert "already accessed by another instance" not in second.stderr
    out, _ = owner.communicate("go\n", timeout=60)
    assert out.strip() == "count 2 top 1"
    assert owner.returncode == 0


@pytest.fixture
def worker_process() -> Iterator[None]:
    _vector_store_left_to_web()  # what `celery worker` runs as it starts (celeryd_init)
    yield
    vectors._elsewhere[0] = ""


@pytest.mark.usefixtures("worker_process")
def test_a_celery_worker_never_opens_the_embedded_store() -> None:
    with pytest.raises(VectorStoreRefused) as refused:
        vector_store_claim()
    assert str(refused.value).startswith("A Celery worker does not open the embedded vector store")
    assert "set QDRANT_URL to a Qdrant server shared by every process" in str(refused.value)


@pytest.mark.usefixtures("worker_process")
@override_settings(QDRANT_URL="http://qdrant:6333")
def test_a_celery_worker_uses_a_qdrant_server() -> None:
    vector_store_claim()  # nothing to claim, nothing refused


@app.task(base=VectorTask)  # type: ignore[untyped-decorator]
def _where(value: int) -> tuple[int, int]:
    return os.getpid(), value


@pytest.fixture
def broker() -> Iterator[None]:
    """Tasks go through a broker (no eager mode), as in production."""
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


@pytest.mark.usefixtures("broker")
def test_on_the_embedded_store_a_vector_task_runs_in_the_process_that_queues_it() -> None:
    assert _where.delay(7).get() == (os.getpid(), 7)


@pytest.mark.usefixtures("broker")
@override_settings(QDRANT_URL="http://qdrant:6333")
def test_with_a_qdrant_server_a_vector_task_goes_to_the_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(Task, "apply_async", lambda self, *a, **k: sent.append((self.name, *a)))
    _where.delay(7)
    assert sent == [(_where.name, (7,), {})]


def test_the_knowledge_tasks_are_vector_tasks() -> None:
    from apps.knowledge import tasks

    found = [task for task in vars(tasks).values() if isinstance(task, Task)]
    assert len(found) == 5
    assert all(isinstance(task, VectorTask) for task in found)
