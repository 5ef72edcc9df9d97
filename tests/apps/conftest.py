import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client

from apps.accounts.models import Role, User, Workspace
from apps.accounts.widget import customer_session_start
from cs_platform.asgi import application
from tests.factories import MembershipFactory


@pytest.fixture(autouse=True, scope="session")
def _close_worker_thread_connections(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:
    """Async tests reach the database from asgiref's worker thread; close that connection at the
    end, or PostgreSQL refuses to drop the test database."""
    yield
    with django_db_blocker.unblock():
        asyncio.run(database_sync_to_async(connections.close_all)())


# --- WebSocket clients speaking the chat protocol (used by chat and safety tests) ---
ORIGIN_A = "https://acme.example.com"


class Socket:
    """A WebSocket client speaking the chat protocol, for tests."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator

    async def send(self, type_: str, **fields: Any) -> None:
        await self.communicator.send_to(text_data=json.dumps({"v": 1, "type": type_, **fields}))

    async def receive(self, timeout: float = 3) -> dict[str, Any]:
        message: dict[str, Any] = await self.communicator.receive_json_from(timeout=timeout)
        return message

    async def receive_until(self, type_: str, timeout: float = 5) -> list[dict[str, Any]]:
        """Every event up to and including the first of ``type_``."""
        seen = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, f"no {type_!r} within {timeout}s; got {[e['type'] for e in seen]}"
            event = await self.receive(timeout=remaining)
            seen.append(event)
            if event["type"] == type_:
                return seen

    async def nothing(self, timeout: float = 0.3) -> bool:
        return bool(await self.communicator.receive_nothing(timeout=timeout))

    async def close(self) -> None:
        await self.communicator.disconnect()


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    channel_layers.backends.clear()


@pytest.fixture
def connect_customer() -> Callable[..., Any]:
    async def connect(
        workspace: Workspace, *, origin: str = ORIGIN_A, token: str | None = None
    ) -> tuple[Socket, dict[str, Any]]:
        if token is None:
            from channels.db import database_sync_to_async

            issued = await database_sync_to_async(customer_session_start)(
                workspace=workspace, origin=origin
            )
            token = issued.token
        communicator = WebsocketCommunicator(
            application,
            f"/ws/widget/{workspace.public_key}/",
            headers=[(b"origin", origin.encode())],
        )
        connected, _ = await communicator.connect()
        assert connected
        socket = Socket(communicator)
        await socket.send("auth", token=token)  # the token never goes in the URL
        return socket, {"token": token}

    return connect


@pytest.fixture
def connect_agent() -> Callable[..., Any]:
    async def connect(user: User, workspace: Workspace) -> Socket:
        from channels.db import database_sync_to_async

        client = Client()
        await database_sync_to_async(client.force_login)(user)
        name = django_settings.SESSION_COOKIE_NAME
        cookie = f"{name}={client.cookies[name].value}"
        communicator = WebsocketCommunicator(
            application,
            f"/ws/agent/{workspace.slug}/",
            headers=[(b"origin", b"http://testserver"), (b"cookie", cookie.encode())],
        )
        connected, _ = await communicator.connect()
        assert connected
        return Socket(communicator)

    return connect


@pytest.fixture
def agent_of(db: None) -> Callable[..., User]:
    def make(workspace: Workspace, role: str = Role.AGENT) -> User:
        return MembershipFactory(workspace=workspace, role=role).user

    return make


@pytest.fixture
def slow_replier(settings: Any) -> None:
    settings.DIALOGUE_REPLIER = "tests.doubles.SlowReplier"


async def drain_turns() -> None:
    """Waits for background bot turns of this loop to finish."""
    from apps.dialogue.services import _running

    loop = asyncio.get_running_loop()
    tasks = [task for task in _running.values() if task.get_loop() is loop]
    if tasks:
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
