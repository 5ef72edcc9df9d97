"""Calling the ORM from async code (consumers, bot turns)."""

import asyncio
import functools
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import OperationalError, connection

logger = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


_sized_loop: asyncio.AbstractEventLoop | None = None


def thread_pool_ensure() -> None:
    """Sizes the running loop's default executor, where ``db_async`` runs calls on PostgreSQL
    (and with them a turn's NLU, retrieval and safety checks), to ``ASYNC_THREADS`` threads
    (once per loop). asyncio's default, min(32, cores + 4), is 6 threads on 2 cores: under load
    turns queued for a thread while the process had a core to spare."""
    global _sized_loop
    loop = asyncio.get_running_loop()
    if _sized_loop is loop:
        return
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=settings.ASYNC_THREADS, thread_name_prefix="db-async")
    )
    _sized_loop = loop


def db_async(func: Callable[..., Any]) -> Any:
    """``func`` as an awaitable that runs in a worker thread and cleans up old connections.

    On PostgreSQL calls run in a thread pool, so one slow query doesn't queue every socket of the
    process behind it; on SQLite (one writer anyway) they share one thread.
    """
    return DatabaseSyncToAsync(func, thread_sensitive=not settings.DB_ASYNC_THREAD_POOL)


SQLITE_LOCK_RETRIES = 5


def retry_on_database_lock(func: Callable[P, T]) -> Callable[P, T]:
    """Runs ``func`` again (up to ``SQLITE_LOCK_RETRIES`` times, backing off) when SQLite says
    the database is locked. Under the embedded default, several threads of one process write;
    WAL, the busy timeout and immediate transactions make a lock rare, not impossible. On a
    server database this adds nothing. ``func`` must be safe to run twice (its writes are in one
    transaction that the lock rolled back)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(SQLITE_LOCK_RETRIES):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                retriable = "database is locked" in str(exc) and not connection.in_atomic_block
                if not retriable or attempt == SQLITE_LOCK_RETRIES - 1:
                    raise
                logger.warning("database locked in %s; retrying", func.__name__)
                time.sleep(0.05 * 2**attempt + random.random() * 0.05)  # noqa: S311
        raise AssertionError("unreachable")

    return wrapper
