import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connections


@pytest.fixture(autouse=True, scope="session")
def _close_worker_thread_connections(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:
    """Async tests reach the database from asgiref's worker thread; close that connection at the
    end, or PostgreSQL refuses to drop the test database."""
    yield
    with django_db_blocker.unblock():
        asyncio.run(database_sync_to_async(connections.close_all)())
