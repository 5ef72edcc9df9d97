"""A Celery worker's metrics: its tasks' counts and run times, served on WORKER_METRICS_PORT.

Tasks are counted from Celery's signals wherever they run: in a worker's pool processes, or in
the web process when tasks run inline (the embedded default, where ``/metrics`` reports them).
A worker with ``WORKER_METRICS_PORT`` serves its metrics there, for the same bearer token as
``/metrics`` (METRICS_TOKEN, required). A prefork pool runs tasks in child processes, so they
count in ``PROMETHEUS_MULTIPROC_DIR``: a new temporary folder, unless the environment names one
(a folder of this worker's own: the files of its previous runs are removed at start).
"""

import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery.signals import (
    celeryd_init,
    task_postrun,
    task_prerun,
    worker_process_shutdown,
    worker_ready,
)

from apps.core.metrics_process import MULTIPROC_ENV, multiprocess_enabled, process_dead

logger = logging.getLogger(__name__)

# task id -> when it started, in the process that runs it.
_started: dict[str, float] = {}
_STATES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}


def multiprocess_for_worker() -> None:
    """Called by cs_platform.celery when it is first imported, before prometheus_client is (it
    decides on import whether it counts in files): a ``celery worker`` with a metrics port counts
    in a folder its pool processes share. Read from the environment and the command line because
    settings aren't loaded yet."""
    if os.environ.get("WORKER_METRICS_PORT", "0") not in ("", "0") and "worker" in sys.argv[1:]:
        os.environ.setdefault(MULTIPROC_ENV, tempfile.mkdtemp(prefix="cs-worker-metrics-"))


def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


def _task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    from apps.core.metrics import CELERY_TASK_SECONDS, CELERY_TASKS

    name = getattr(task, "name", None) or "unknown"
    CELERY_TASKS.labels(task=name, state=_STATES.get(state or "", "other")).inc()
    started = _started.pop(task_id or "", None)
    if started is not None:
        CELERY_TASK_SECONDS.labels(task=name).observe(time.perf_counter() - started)


def _stale_files_remove(directory: Path) -> None:
    """Files a previous run of this worker left (their processes are gone): not this process's."""
    mine = f"_{os.getpid()}.db"
    for path in directory.glob("*.db"):
        if not path.name.endswith(mine):
            path.unlink()


def _worker_configure(sender: Any = None, conf: Any = None, options: Any = None, **_: Any) -> None:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not settings.WORKER_METRICS_PORT:
        return
    if not settings.METRICS_TOKEN:
        raise ImproperlyConfigured("WORKER_METRICS_PORT needs METRICS_TOKEN (a bearer token).")
    pool = str((options or {}).get("pool_cls") or getattr(conf, "worker_pool", "") or "")
    if not multiprocess_enabled() and "solo" not in pool and "thread" not in pool:
        raise ImproperlyConfigured(
            f"WORKER_METRICS_PORT with a prefork pool needs {MULTIPROC_ENV}: an empty folder of "
            "this worker's own, set in its environment before it starts."
        )
    if multiprocess_enabled():
        _stale_files_remove(Path(os.environ[MULTIPROC_ENV]))


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def metrics_app(token: str) -> Callable[..., Iterable[bytes]]:
    """The worker's metrics as a WSGI app, for the bearer token only."""
    from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
    from prometheus_client.multiprocess import MultiProcessCollector

    from cs_platform.metrics import bearer_matches

    if multiprocess_enabled():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    exporter = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not bearer_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            headers = [("WWW-Authenticate", 'Bearer realm="metrics"')]
            start_response("401 Unauthorized", headers)
            return [b"A bearer token is required.\n"]
        served: Iterable[bytes] = exporter(environ, start_response)
        return served

    return app


def _exporter_start(**_: Any) -> None:
    from django.conf import settings

    if not settings.WORKER_METRICS_PORT:
        return
    server = make_server(
        settings.WORKER_METRICS_ADDR,
        settings.WORKER_METRICS_PORT,
        metrics_app(settings.METRICS_TOKEN),
        server_class=_Server,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    logger.info("worker metrics on port %s", settings.WORKER_METRICS_PORT)


def _pool_process_gone(**_: Any) -> None:
    process_dead(os.getpid())


def connect() -> None:
    """Connects the handlers (cs_platform.celery, in every process that loads the Celery app)."""
    task_prerun.connect(_task_started, weak=False)
    task_postrun.connect(_task_finished, weak=False)
    celeryd_init.connect(_worker_configure, weak=False)
    worker_ready.connect(_exporter_start, weak=False)
    worker_process_shutdown.connect(_pool_process_gone, weak=False)
