"""Database connections under ASGI concurrency (issue 19: with persistent per-thread connections,
8 threads x 40 requests left 89 idle PostgreSQL connections open, then requests failed with "too
many clients"). The test runs with production's database settings (tests don't override them)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.db import connection, connections
from rest_framework.authtoken.models import Token

from apps.accounts.models import Role
from cs_platform.asgi import application
from cs_platform.settings.base import production_pool_options
from tests.factories import ConversationFactory
from tests.servers import running_server

pytestmark = pytest.mark.django_db(transaction=True)

CONCURRENCY = 8
REQUESTS_EACH = 40


def _connections_to_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        (count,) = cursor.fetchone()
    return int(count)


def test_concurrent_requests_never_hold_more_than_the_pool(
    workspace_a: Any, member_of: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's; the services pass runs this on PostgreSQL")
    # Production's pool (the test settings leave it out): new connections take it from here.
    pool_options = production_pool_options()
    limit = pool_options["max_size"]
    connections.settings["default"]["OPTIONS"]["pool"] = pool_options
    user = member_of(workspace_a, Role.ADMIN)
    token = Token.objects.create(user=user).key
    ConversationFactory.create_batch(3, workspace=workspace_a)
    peak = 0
    watching = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not watching.is_set():
            peak = max(peak, _connections_to_this_database())
            time.sleep(0.05)
        connection.close()

    # The real ASGI server (not the test client, which keeps connections open on purpose).
    with running_server(application) as base:
        url = f"{base}/api/v1/workspaces/{workspace_a.slug}/conversations/"
        watcher = threading.Thread(target=watch)
        watcher.start()

        def client_loop() -> list[int]:
            with httpx.Client(headers={"Authorization": f"Token {token}"}, timeout=30) as client:
                return [client.get(url).status_code for _ in range(REQUESTS_EACH)]

        with ThreadPoolExecutor(CONCURRENCY) as executor:
            statuses = [
                code
                for codes in executor.map(lambda _: client_loop(), range(CONCURRENCY))
                for code in codes
            ]
        watching.set()
        watcher.join()
        after = _connections_to_this_database()
    # The server's threads borrowed from the pool, once per request at least.
    served_from_pool = connection.pool.get_stats()["requests_num"]
    connection.close_pool()
    del connections.settings["default"]["OPTIONS"]["pool"]
    assert statuses == [200] * (CONCURRENCY * REQUESTS_EACH)
    # Every request ran in a thread of its own; together they held at most the pool's size
    # (plus the watcher's), and no more are open once they are done.
    assert peak <= limit + 1
    assert after <= limit
    assert served_from_pool >= CONCURRENCY * REQUESTS_EACH
