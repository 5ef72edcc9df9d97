"""Hostile and broken input on the chat sockets: every bad frame gets an ``error`` event and the
socket stays open (or it is closed with a code); a refused socket processes nothing."""

import asyncio
import json
import logging
import socket
from typing import Any

import pytest
import uvicorn
import websockets
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from websockets.typing import Origin

from apps.accounts.widget import customer_session_start
from apps.chat.models import Message
from cs_platform.asgi import application
from tests.apps.conftest import ORIGIN_A, Socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

NESTED_LISTS = "[" * 5000 + "]" * 5000
NESTED_OBJECTS = '{"a":' * 2500 + "1" + "}" * 2500


def _send(**fields: Any) -> str:
    return json.dumps({"v": 1, **fields})


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('{"v": 1, "type": ["ping"]}', "unknown_type"),
        ('{"v": 1, "type": {"ping": 1}}', "unknown_type"),
        (NESTED_LISTS, "malformed"),
        (NESTED_OBJECTS, "malformed"),
        ('{"v": 1, "type": "ping", "x": ' + NESTED_LISTS + "}", "malformed"),
        (_send(type="message.send", client_message_id="c-1", text="hi\u0000there"), "invalid"),
        (
            '{"v": 1, "type": "message.send", "client_message_id": "c-1", "text": "\\ud800"}',
            "invalid",
        ),
        (
            '{"v": 1, "type": "message.send", "client_message_id": "\\udfff", "text": "hi"}',
            "invalid",
        ),
        (_send(type="message.send", client_message_id="c\u0000", text="hi"), "invalid"),
        (_send(type="csat", score=4, comment="ok\u0000"), "invalid"),
        (_send(type="feedback", message_id=1, rating="up", reason="\u0000"), "invalid"),
        (_send(type="sync", after=10**30), "invalid"),
        (_send(type="sync", after=-1), "invalid"),
        (_send(type="feedback", message_id=10**30, rating="up"), "invalid"),
        ('{"v": 1, "type": "sync", "after": 1e400}', "invalid"),
        ('{"v": 1, "type": "sync", "after": NaN}', "invalid"),
    ],
)
async def test_bad_frame_gets_an_error_and_the_socket_stays_open(
    workspace_a: Any, connect_customer: Any, frame: str, code: str
) -> None:
    socket, _ = await connect_customer(workspace_a)
    await socket.communicator.send_to(text_data=frame)
    error = await socket.receive()
    assert (error["type"], error["code"]) == ("error", code), error
    await socket.send("ping")
    assert await socket.receive() == {"v": 1, "type": "pong"}
    assert await database_sync_to_async(Message.objects.count)() == 0
    await socket.close()


async def test_agent_socket_refused_for_missing_auth_processes_nothing(workspace_a: Any) -> None:
    communicator = WebsocketCommunicator(
        application, f"/ws/agent/{workspace_a.slug}/", headers=[(b"origin", b"http://testserver")]
    )
    connected, _ = await communicator.connect()
    assert connected
    socket = Socket(communicator)
    assert (await socket.receive())["code"] == "not_authenticated"
    assert (await communicator.receive_output())["code"] == 4401
    await socket.send("queue")
    await socket.send("conversation.open", conversation_id=1)
    await socket.send("ping")
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_customer_socket_refused_for_a_bad_token_processes_nothing(
    workspace_a: Any, connect_customer: Any
) -> None:
    socket, _ = await connect_customer(workspace_a, token="not-a-token")
    assert (await socket.receive())["code"] == "invalid_token"
    assert (await socket.communicator.receive_output())["code"] == 4401
    await socket.send("message.send", client_message_id="c-1", text="hi")
    await socket.send("ping")
    assert await socket.communicator.receive_nothing(timeout=0.5)
    assert await database_sync_to_async(Message.objects.count)() == 0
    await socket.close()


async def test_malformed_frames_count_against_the_socket_limit(
    workspace_a: Any, connect_customer: Any, settings: Any
) -> None:
    settings.CHAT_RATE_EVENTS_PER_SOCKET = "4/60"
    socket, _ = await connect_customer(workspace_a)  # the auth event is the first of the four
    for frame, code in (("{not json", "malformed"), ('{"v": 1, "type": []}', "unknown_type")):
        await socket.communicator.send_to(text_data=frame)
        assert (await socket.receive())["code"] == code
    await socket.communicator.send_to(bytes_data=b"\x00")
    assert (await socket.receive())["code"] == "invalid"
    await socket.send("ping")
    assert (await socket.receive())["code"] == "rate_limited"
    await socket.close()


async def test_undecodable_origin_header_is_refused_with_a_close_code(workspace_a: Any) -> None:
    communicator = WebsocketCommunicator(
        application, f"/ws/widget/{workspace_a.public_key}/", headers=[(b"origin", b"\xff\xfe")]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["code"] == "origin_not_allowed"
    assert (await communicator.receive_output())["code"] == 4403
    await communicator.disconnect()


async def test_event_before_auth_closes_the_socket(workspace_a: Any) -> None:
    communicator = WebsocketCommunicator(
        application,
        f"/ws/widget/{workspace_a.public_key}/",
        headers=[(b"origin", ORIGIN_A.encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    socket = Socket(communicator)
    await socket.send("sync", after=0)
    error = await socket.receive()
    assert (error["code"], error["message"]) == (
        "not_authenticated",
        'Send {"v": 1, "type": "auth", "token": "<session token>"} first.',
    )
    assert (await communicator.receive_output())["code"] == 4401
    await communicator.disconnect()


async def test_socket_without_auth_is_closed_after_the_auth_timeout(
    workspace_a: Any, settings: Any
) -> None:
    settings.CHAT_AUTH_TIMEOUT_SECONDS = 1
    communicator = WebsocketCommunicator(
        application,
        f"/ws/widget/{workspace_a.public_key}/",
        headers=[(b"origin", ORIGIN_A.encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["code"] == "auth_timeout"
    assert (await communicator.receive_output(timeout=2))["code"] == 4401
    await communicator.disconnect()


async def test_token_in_the_url_no_longer_authenticates(workspace_a: Any) -> None:
    issued = await database_sync_to_async(customer_session_start)(
        workspace=workspace_a, origin=ORIGIN_A
    )
    communicator = WebsocketCommunicator(
        application,
        f"/ws/widget/{workspace_a.public_key}/?token={issued.token}",
        headers=[(b"origin", ORIGIN_A.encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    error = await communicator.receive_json_from()
    assert (error["code"], error["message"]) == (
        "token_in_url",
        "Send the session token in an auth event, never in the URL (see the chat protocol).",
    )
    assert (await communicator.receive_output())["code"] == 4401
    await communicator.send_json_to({"v": 1, "type": "sync", "after": 0})
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_second_auth_on_an_authenticated_socket_is_an_error(
    workspace_a: Any, connect_customer: Any
) -> None:
    socket, auth = await connect_customer(workspace_a)
    await socket.send("auth", token=auth["token"])
    error = await socket.receive()
    assert (error["code"], error["ref"]) == ("invalid", "auth")
    await socket.send("ping")
    assert (await socket.receive())["type"] == "pong"
    await socket.close()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")


async def test_widget_token_never_reaches_the_server_log(workspace_a: Any) -> None:
    """Under uvicorn (as cs_platform.serve runs it): the old URL form is refused, the auth event
    works, and neither leaves the token in any log line."""
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    server_socket.bind(("127.0.0.1", 0))
    port = server_socket.getsockname()[1]
    config = uvicorn.Config(application, ws="websockets-sansio", lifespan="off", log_level="info")
    server = uvicorn.Server(config)
    # After uvicorn has configured its loggers (which drops handlers it didn't make).
    records = _Records()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn.access", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(records)
    serving = asyncio.create_task(server.serve(sockets=[server_socket]))
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        issued = await database_sync_to_async(customer_session_start)(
            workspace=workspace_a, origin=ORIGIN_A
        )
        base = f"ws://127.0.0.1:{port}/ws/widget/{workspace_a.public_key}/"
        async with websockets.connect(
            f"{base}?token={issued.token}", origin=Origin(ORIGIN_A)
        ) as old:
            assert json.loads(await old.recv())["code"] == "token_in_url"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await old.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4401
        async with websockets.connect(base, origin=Origin(ORIGIN_A)) as new:
            await new.send(json.dumps({"v": 1, "type": "auth", "token": issued.token}))
            await new.send(json.dumps({"v": 1, "type": "sync", "after": 0}))
            assert json.loads(await new.recv()) == {
                "v": 1,
                "type": "history",
                "conversation": None,
                "messages": [],
            }
    finally:
        server.should_exit = True
        await serving
        for logger in loggers:
            logger.removeHandler(records)
    accepted = [line for line in records.lines if "WebSocket /ws/widget/" in line]
    assert [line.split('"')[1] for line in accepted] == [
        f"WebSocket /ws/widget/{workspace_a.public_key}/?token=[scrubbed]",
        f"WebSocket /ws/widget/{workspace_a.public_key}/",
    ]
    assert not [line for line in records.lines if issued.token in line]
