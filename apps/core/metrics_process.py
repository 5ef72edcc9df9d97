"""Prometheus' multiprocess mode: each process counts in files of one folder, a scrape adds them.

The web server's worker processes share one listening socket, so a scrape reaches one of them;
a Celery worker's pool runs its tasks in child processes. Each of them writes its counts under
``PROMETHEUS_MULTIPROC_DIR``, and whichever process serves the scrape reads the whole folder.

prometheus_client decides on import whether it counts in memory or in that folder, so the
supervising process prepares the folder before anything imports it (this module doesn't).
"""

import os
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir_prepare(*, prefix: str) -> Path:
    """The folder in ``PROMETHEUS_MULTIPROC_DIR`` (a new temporary one when unset), emptied of
    the files of a previous run (their processes are gone: their counts would be added to this
    run's), and set in the environment that the worker processes inherit."""
    directory = Path(os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix=prefix))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def process_dead(pid: int) -> None:
    """A worker process is gone: its live gauges (the sockets it held open) stop counting."""
    if multiprocess_enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
