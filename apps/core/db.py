"""Calling the ORM from async code (consumers, bot turns)."""

from collections.abc import Callable
from typing import Any

from channels.db import DatabaseSyncToAsync
from django.conf import settings


def db_async(func: Callable[..., Any]) -> Any:
    """``func`` as an awaitable that runs in a worker thread and cleans up old connections.

    On PostgreSQL calls run in a thread pool, so one slow query doesn't queue every socket of the
    process behind it; on SQLite (one writer anyway) they share one thread.
    """
    return DatabaseSyncToAsync(func, thread_sensitive=not settings.DB_ASYNC_THREAD_POOL)
