"""Refuses oversized request bodies before anything reads them whole.

Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only when ``request.body`` is read, and DRF's parsers
read the stream directly, so the limit is enforced here: from Content-Length in Django's
middleware, and as the bytes arrive in ``StreamedBodyLimit``, an ASGI middleware in front of
Django. The latter also covers bodies with no Content-Length (``Transfer-Encoding: chunked``),
which Django's ASGI handler would otherwise read whole (to disk) and DRF would then ignore.
"""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core.errors import error_body, json_error

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Django's ASGIHandler types its arguments its own way: any callable of the three will do.
ASGIApp = Callable[..., Awaitable[None]]


def _too_large_message(limit: int, length: int | None = None) -> str:
    size = f"is {length} bytes" if length is not None else "is larger than that"
    return f"Request body {size}; the limit is {limit} bytes."


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(
                request, status=400, code="bad_request", message="Content-Length is not a number."
            )
        if limit is not None and length > limit:
            return json_error(
                request,
                status=413,
                code="payload_too_large",
                message=_too_large_message(limit, length),
            )
        return self.get_response(request)


class StreamedBodyLimit:
    """ASGI middleware: reads an HTTP request's body up to the limit and answers 413 as soon as
    it goes over, without reading the rest. A body that fits is handed on with its
    Content-Length, so a chunked request is parsed like any other."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if scope["type"] != "http" or limit is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client is gone: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        headers = list(scope.get("headers", []))
        if body and not any(name.lower() == b"content-length" for name, _ in headers):
            headers = [
                *[(n, v) for n, v in headers if n.lower() != b"transfer-encoding"],
                (b"content-length", str(len(body)).encode()),
            ]
            scope = {**scope, "headers": headers}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)


async def _send_too_large(send: Send, limit: int) -> None:
    content = json.dumps(
        error_body(code="payload_too_large", message=_too_large_message(limit))
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
