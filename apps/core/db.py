"""Calling the ORM from async code (consumers, bot turns)."""

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import OperationalError, connection

logger = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


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
