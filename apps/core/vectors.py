"""The process-wide Qdrant client, opened from settings on first use, and which process may open
the embedded store.

With ``QDRANT_URL`` every process (web, Celery workers, beat, commands) opens the same server with
the same client calls. Without it the store is Qdrant's local mode under ``QDRANT_PATH``, which
one process only may open: the web process claims it as it starts (``vector_store_claim``), a
Celery worker never opens it (``vector_store_elsewhere``), and the tasks that write vectors
(``VectorTask``) run in the process that queues them, which is the one that owns the store.
"""

import atexit
from typing import Any

from celery import Task
from django.conf import settings
from qdrant_client import QdrantClient

from apps.core.process import process_wide
from ml.vectors import LocalStoreInUse, QdrantLocation, local_store_claim, qdrant_open

WHAT_TO_DO = (
    "Qdrant's local mode (QDRANT_URL unset) can be opened by one process only: stop the "
    "process that holds it, or run one web process (WEB_CONCURRENCY=1), which also runs the "
    "indexing tasks; to run several web processes or workers, set QDRANT_URL to a Qdrant server "
    "that they all share."
)


class VectorStoreRefused(RuntimeError):
    """This process may not open the embedded vector store."""


# Why this process never opens the embedded store (a Celery worker), or "" when it may.
_elsewhere = [""]


def vector_store_elsewhere(role: str) -> None:
    """Marks this process as one that leaves the embedded store to the web process."""
    _elsewhere[0] = role


def vector_store_claim() -> None:
    """Claims the embedded store for this process now, at its start, rather than at its first
    search: a second process on the same folder is refused before it serves anything. Nothing to
    do with a Qdrant server."""
    if settings.QDRANT_URL:
        return
    if _elsewhere[0]:
        raise VectorStoreRefused(
            f"{_elsewhere[0]} does not open the embedded vector store {settings.QDRANT_PATH} "
            "(QDRANT_URL unset): the web process owns it and runs the tasks that write vectors. "
            "To run them in workers, set QDRANT_URL to a Qdrant server shared by every process."
        )
    try:
        local_store_claim(settings.QDRANT_PATH)
    except LocalStoreInUse as exc:
        raise VectorStoreRefused(
            f"The embedded vector store {exc.folder} is in use by process {exc.owner}. {WHAT_TO_DO}"
        ) from None


@process_wide
def qdrant_client() -> QdrantClient:
    vector_store_claim()
    location = QdrantLocation(
        url=settings.QDRANT_URL or None,
        path=None if settings.QDRANT_URL else settings.QDRANT_PATH,
        api_key=settings.QDRANT_API_KEY or None,
    )
    client = qdrant_open(location)
    # Close while the interpreter is whole: local mode releases its folder lock on close.
    atexit.register(client.close)
    return client


class VectorTask(Task):  # type: ignore[misc]
    """A task that reads or writes the vector store. With a Qdrant server it goes through the
    broker like any task. On the embedded store it runs at once in the process that queues it,
    as every task does with no broker: that process is the web process (or a command run while
    no server is up), the only one that may open the store; a worker would be refused it."""

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        if settings.QDRANT_URL:
            return super().apply_async(args, kwargs, **options)
        options.pop("producer", None)
        return self.apply(args, kwargs, **options)
