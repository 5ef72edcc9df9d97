"""A body over the size limit is refused with 413 as it arrives, also when it is chunked (no
Content-Length), under both servers the project runs: uvicorn (cs_platform.serve) and daphne
(make demo). A chunked body within the limit is read like any other."""

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from daphne.testing import DaphneProcess

from cs_platform.asgi import application

FORTY_MB = 40 * 1024 * 1024
CHUNK = 64 * 1024


def _get_application() -> Any:
    from cs_platform.asgi import application

    return application


def _chunked_post(
    port: int, path: str, total: int, body: bytes | None = None
) -> tuple[int, Any, int]:
    """POSTs ``total`` bytes (or ``body``) chunked; (status, JSON answer, bytes the server took)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Origin: https://acme.example.com\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        try:
            if body is not None:
                conn.sendall(b"%x\r\n%s\r\n" % (len(body), body))
                sent = len(body)
            else:
                chunk = b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK)
                while sent < total:
                    conn.sendall(chunk)
                    sent += CHUNK
            conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed without reading the rest
        answer = b""
        while b"\r\n\r\n" not in answer or not _complete(answer):
            try:
                data = conn.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
    head, _, content = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(_dechunk(head, content)), sent


def _complete(answer: bytes) -> bool:
    head, _, content = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(content) >= int(line.split(b":")[1])
    return content.endswith(b"0\r\n\r\n")


def _dechunk(head: bytes, content: bytes) -> bytes:
    if b"transfer-encoding: chunked" not in head.lower():
        return content
    out = b""
    while content:
        size_line, _, rest = content.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out += rest[:size]
        content = rest[size + 2 :]
    return out


TOO_LARGE = {
    "error": {
        "code": "payload_too_large",
        "message": "Request body is larger than that; the limit is 1048576 bytes.",
    }
}


@pytest.fixture
def daphne_port() -> Iterator[int]:
    process = DaphneProcess("127.0.0.1", _get_application)
    process.daemon = True
    process.start()
    assert process.ready.wait(timeout=60)
    try:
        yield process.port.value
    finally:
        process.terminate()
        process.join(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_forty_megabytes_chunked_is_refused_under_daphne(daphne_port: int) -> None:
    status, body, _ = _chunked_post(daphne_port, "/api/v1/widget/wk_any/session/", FORTY_MB)
    assert (status, body) == (413, TOO_LARGE)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_forty_megabytes_chunked_is_refused_under_uvicorn_without_reading_it(
    workspace_a: Any,
) -> None:
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    server_socket.bind(("127.0.0.1", 0))
    port = server_socket.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[server_socket]))
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        path = f"/api/v1/widget/{workspace_a.public_key}/session/"
        status, body, sent = await asyncio.to_thread(_chunked_post, port, path, FORTY_MB)
        assert (status, body) == (413, TOO_LARGE)
        assert sent < FORTY_MB // 2  # it stopped reading soon after the limit

        # A small chunked body is read like one with a Content-Length.
        status, body, _ = await asyncio.to_thread(
            _chunked_post, port, path, 0, b'{"resume_token": ["x"]}'
        )
        assert status == 400
        assert body["error"]["fields"] == {"resume_token": ["Not a valid string."]}
    finally:
        server.should_exit = True
        await serving
