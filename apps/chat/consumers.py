"""WebSocket consumers (see PROTOCOL.md). Thin: check the scope, validate the event, await a
service, push events. Bad input gets an ``error`` event and the socket stays open; a socket the
server refused (closed) processes nothing more."""

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError

from apps.accounts.models import CustomerSession, User, Workspace
from apps.accounts.roles import Capability
from apps.accounts.selectors import workspace_get_for_capability
from apps.accounts.widget import customer_session_authenticate, widget_workspace_for_origin
from apps.chat import events, hooks, selectors, services
from apps.chat.models import Conversation
from apps.core import metrics
from apps.core.db import db_async
from apps.core.errors import validation_message
from apps.core.exceptions import ApplicationError
from apps.core.ratelimit import LocalWindow, Rate

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408
HISTORY_LIMIT = 200
# Integers in events are ids, counts and scores: JSON allows any size, the database doesn't.
_INT_MAX = 2**63 - 1


class EventError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _field(data: dict[str, Any], name: str, kind: type, *, required: bool = True) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise EventError("invalid", f"'{name}' is required.")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise EventError("invalid", f"'{name}' must be a {kind.__name__}.")
    if isinstance(value, int) and not 0 <= value <= _INT_MAX:
        raise EventError("invalid", f"'{name}' must be between 0 and {_INT_MAX}.")
    if isinstance(value, str) and not _is_storable_text(value):
        raise EventError("invalid", f"'{name}' holds a NUL or an unpaired surrogate character.")
    return value


def _is_storable_text(value: str) -> bool:
    """No NUL (PostgreSQL refuses it in text) and no lone surrogate (not encodable as UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decode(text_data: str) -> dict[str, Any]:
    """The event object in a text frame, or EventError for anything else."""
    if len(text_data.encode("utf-8", "surrogatepass")) > settings.CHAT_EVENT_MAX_BYTES:
        raise EventError(
            "too_large", f"An event can be at most {settings.CHAT_EVENT_MAX_BYTES} bytes."
        )
    try:
        data = json.loads(text_data)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        raise EventError("malformed", "The event is not valid JSON.") from None
    if not isinstance(data, dict):
        raise EventError("invalid", "An event is a JSON object.")
    return data


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    """A request header as text (latin-1 never fails to decode), or None."""
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1") or None
    return None


class ChatConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """What both sockets share: decoding, limits, error events, relaying group events."""

    handlers: dict[str, str] = {}
    sender: str  # "customer" or "agent": who this socket speaks for
    groups_joined: set[str]

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.groups_joined = set()
        self.last_activity = time.monotonic()
        self.idle_task: asyncio.Task[None] | None = None
        # Set once the socket is closed by the server; ``authenticated`` once it may send events.
        self.refused = False
        self.authenticated = False
        self.event_limit = LocalWindow(Rate.parse(settings.CHAT_RATE_EVENTS_PER_SOCKET))
        metrics.WEBSOCKETS_OPEN.labels(socket=self.sender).inc()
        await super().websocket_connect(message)

    async def disconnect(self, code: int) -> None:
        metrics.WEBSOCKETS_OPEN.labels(socket=self.sender).dec()
        if self.idle_task:
            self.idle_task.cancel()
        for group in list(self.groups_joined):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined.clear()

    async def join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    async def leave(self, group: str) -> None:
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)

    async def send_event(self, type_: str, **fields: Any) -> None:
        await self.send(text_data=json.dumps(events.event(type_, **fields)))

    async def send_error(self, code: str, message: str, ref: Any = None) -> None:
        await self.send_event("error", code=code, message=message, ref=ref)

    async def refuse(self, close_code: int, code: str, message: str) -> None:
        self.refused = True
        if self.idle_task and self.idle_task is not asyncio.current_task():
            self.idle_task.cancel()
        await self.send_error(code, message)
        await self.close(code=close_code)

    def start_idle_watch(self) -> None:
        if self.idle_task:
            self.idle_task.cancel()
        self.idle_task = asyncio.get_running_loop().create_task(self._idle_watch())

    def start_auth_watch(self) -> None:
        self.idle_task = asyncio.get_running_loop().create_task(self._auth_watch())

    async def _auth_watch(self) -> None:
        await asyncio.sleep(settings.CHAT_AUTH_TIMEOUT_SECONDS)
        if not self.authenticated and not self.refused:
            await self.refuse(
                CLOSE_UNAUTHENTICATED, "auth_timeout", "No auth event arrived in time."
            )

    async def _idle_watch(self) -> None:
        timeout = settings.CHAT_IDLE_TIMEOUT_SECONDS
        while True:
            remaining = timeout - (time.monotonic() - self.last_activity)
            if remaining <= 0:
                await self.refuse(CLOSE_IDLE, "idle_timeout", "Closed after a long silence.")
                return
            await asyncio.sleep(min(remaining, 30))

    def client_ip(self) -> str:
        client = self.scope.get("client") or ("unknown", 0)
        return str(client[0])

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.refused:
            return  # closed by the server: whatever the client still sends is dropped
        self.last_activity = time.monotonic()
        # Every frame counts, good or bad: a flood of garbage costs the client the same.
        if not self.event_limit.allow():
            await self.send_error("rate_limited", "Too many events; slow down.")
            return
        if text_data is None:
            await self.send_error("invalid", "Send JSON text frames.")
            return
        try:
            data = _decode(text_data)
        except EventError as exc:
            await self.send_error(exc.code, exc.message)
            return
        type_ = data.get("type")
        ref = data.get("client_message_id") or type_
        ref = ref if isinstance(ref, str | int) and not isinstance(ref, bool) else None
        if data.get("v") != events.PROTOCOL_VERSION:
            await self.send_error("unsupported_version", 'Send events with "v": 1.', ref)
            return
        handler_name = self.handlers.get(type_) if isinstance(type_, str) else None
        if handler_name is None:
            shown = type_[:64] if isinstance(type_, str) else type(type_).__name__
            await self.send_error("unknown_type", f"Unknown event type {shown!r}.", ref)
            return
        if not self.authenticated and type_ != "auth":
            await self.refuse(
                CLOSE_UNAUTHENTICATED,
                "not_authenticated",
                'Send {"v": 1, "type": "auth", "token": "<session token>"} first.',
            )
            return
        handler: Callable[[dict[str, Any]], Awaitable[None]] = getattr(self, handler_name)
        try:
            await handler(data)
        except EventError as exc:
            await self.send_error(exc.code, exc.message, ref)
        except ValidationError as exc:
            await self.send_error("invalid", validation_message(exc), ref)
        except ApplicationError as exc:
            await self.send_error(exc.code, exc.message, ref)
        except Exception:
            logger.exception("chat event %s failed", type_)
            await self.send_error("server_error", "Something went wrong; please retry.", ref)

    async def on_ping(self, data: dict[str, Any]) -> None:
        await self.send_event("pong")

    async def chat_event(self, message: dict[str, Any]) -> None:
        """An event relayed from a group (see ``events.publish``). A side's own typing goes to
        the other side only."""
        payload = message["event"]
        if payload.get("type") == "typing" and payload.get("sender") == self.sender:
            return
        await self.send(text_data=json.dumps(payload))


class CustomerConsumer(ChatConsumer):
    """``/ws/widget/<public_key>/``: one customer session, authenticated by its first event,
    ``{"v": 1, "type": "auth", "token": ...}``. The token is never in the URL: URLs end up in
    access logs, and a token read from a log would open that customer's history."""

    handlers = {
        "auth": "on_auth",
        "sync": "on_sync",
        "message.send": "on_message_send",
        "feedback": "on_feedback",
        "handoff.request": "on_handoff_request",
        "csat": "on_csat",
        "typing": "on_typing",
        "ping": "on_ping",
    }
    sender = "customer"
    session: CustomerSession
    workspace: Workspace
    conversation_id: int | None

    async def connect(self) -> None:
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            # Widgets from before the auth event: refused, so no client keeps logging tokens.
            await self.refuse(
                CLOSE_UNAUTHENTICATED,
                "token_in_url",
                "Send the session token in an auth event, never in the URL "
                "(see the chat protocol).",
            )
            return
        try:
            self.workspace = await db_async(widget_workspace_for_origin)(
                public_key=self.scope["url_route"]["kwargs"]["public_key"],
                origin=_header(self.scope, b"origin"),
            )
        except ApplicationError as exc:
            close = CLOSE_FORBIDDEN if exc.status == 403 else CLOSE_UNAUTHENTICATED
            await self.refuse(close, exc.code, exc.message)
            return
        self.conversation_id = None
        self.acked_directly: deque[int] = deque(maxlen=64)
        self.start_auth_watch()

    async def on_auth(self, data: dict[str, Any]) -> None:
        if self.authenticated:
            raise EventError("invalid", "This socket is authenticated already.")
        token = _field(data, "token", str)
        try:
            self.session = await db_async(customer_session_authenticate)(
                token=token, workspace=self.workspace
            )
        except ApplicationError as exc:
            await self.refuse(CLOSE_UNAUTHENTICATED, exc.code, exc.message)
            return
        self.authenticated = True
        conversation = await db_async(selectors.conversation_current_for_session)(
            session=self.session
        )
        if conversation is not None:
            await self.follow(conversation.id)
        self.start_idle_watch()

    async def follow(self, conversation_id: int) -> None:
        """Listen to this conversation's group (and no longer to an earlier one)."""
        if self.conversation_id == conversation_id:
            return
        if self.conversation_id is not None:
            await self.leave(events.conversation_group(self.conversation_id))
        self.conversation_id = conversation_id
        await self.join(events.conversation_group(conversation_id))

    async def on_sync(self, data: dict[str, Any]) -> None:
        after = _field(data, "after", int, required=False) or 0
        conversation, messages = await db_async(_history)(self.session, after)
        if conversation is not None:
            await self.follow(conversation.id)
        await self.send_event(
            "history",
            conversation=events.conversation_payload(conversation) if conversation else None,
            messages=messages,
        )

    async def on_message_send(self, data: dict[str, Any]) -> None:
        client_message_id = _field(data, "client_message_id", str)
        text = _field(data, "text", str)
        message, reply, conversation_id, status = await db_async(_receive)(
            self.session, text, client_message_id, self.client_ip()
        )
        await self.follow(conversation_id)
        # The acknowledgement goes straight to this socket (the group's copy is skipped below):
        # it must not depend on when this socket joined the conversation's group.
        self.acked_directly.append(message["id"])
        await self.send_event("message.new", conversation_id=conversation_id, message=message)
        if reply is not None:
            # A resend of a message the bot has answered: the client missed the answer (its
            # live event was lost with a broker connection), so it gets it with the ack.
            await self.send_event("message.new", conversation_id=conversation_id, message=reply)
        elif status == Conversation.Status.BOT:
            # The stored message's bot turn: started now, or, for a resend, again if it failed
            # (a turn that is done or running elsewhere is left alone).
            hooks.turn_start(customer_message_id=message["id"])

    async def on_feedback(self, data: dict[str, Any]) -> None:
        message_id = _field(data, "message_id", int)
        rating = _field(data, "rating", str)
        reason = _field(data, "reason", str, required=False) or ""
        await db_async(hooks.feedback_record)(
            session=self.session, message_id=message_id, rating=rating, reason=reason
        )
        await self.send_event("feedback.saved", message_id=message_id, rating=rating)

    async def on_handoff_request(self, data: dict[str, Any]) -> None:
        conversation = await db_async(services.conversation_handoff_request)(session=self.session)
        await self.follow(conversation.id)

    async def on_csat(self, data: dict[str, Any]) -> None:
        score = _field(data, "score", int)
        comment = _field(data, "comment", str, required=False) or ""
        await db_async(services.conversation_csat_record)(
            session=self.session, score=score, comment=comment
        )
        await self.send_event("csat.saved", score=score)

    async def on_typing(self, data: dict[str, Any]) -> None:
        active = _field(data, "active", bool)
        if self.conversation_id is not None:
            await events.apublish(
                events.conversation_group(self.conversation_id),
                events.event(
                    "typing",
                    conversation_id=self.conversation_id,
                    sender=self.sender,
                    active=active,
                ),
            )

    async def chat_event(self, message: dict[str, Any]) -> None:
        payload = message["event"]
        if payload.get("type") == "message.new" and payload["message"]["id"] in self.acked_directly:
            return  # acknowledged already
        await super().chat_event(message)


def _history(
    session: CustomerSession, after: int
) -> tuple[Conversation | None, list[dict[str, Any]]]:
    conversation = selectors.conversation_current_for_session(session=session)
    if conversation is None:
        return None, []
    messages = selectors.message_list(conversation=conversation, after_id=after)[:HISTORY_LIMIT]
    return conversation, [events.message_payload(m) for m in messages]


def _receive(
    session: CustomerSession, text: str, client_message_id: str, ip: str
) -> tuple[dict[str, Any], dict[str, Any] | None, int, str]:
    """One trip to the database thread: limits, store, and what the consumer needs next (for a
    resend, the bot's reply if it has one)."""
    services.customer_message_limit(session=session, ip=ip)
    message, created = services.customer_message_receive(
        session=session, text=text, client_message_id=client_message_id
    )
    reply = None if created else selectors.bot_reply_for(message=message)
    status = Conversation.objects.values_list("status", flat=True).get(id=message.conversation_id)
    return (
        events.message_payload(message),
        events.message_payload(reply) if reply else None,
        message.conversation_id,
        status,
    )


class AgentConsumer(ChatConsumer):
    """``/ws/agent/<workspace_slug>/``: an agent's live queue and the conversations they open."""

    handlers = {
        "queue": "on_queue",
        "conversation.open": "on_open",
        "conversation.claim": "on_claim",
        "message.send": "on_message_send",
        "conversation.release": "on_release",
        "conversation.close": "on_close",
        "typing": "on_typing",
        "ping": "on_ping",
    }
    sender = "agent"
    agent: User
    workspace: Workspace

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED, "not_authenticated", "Sign in first.")
            return
        try:
            self.workspace = await db_async(workspace_get_for_capability)(
                user=user,
                workspace_slug=self.scope["url_route"]["kwargs"]["workspace_slug"],
                capability=Capability.CONVERSATIONS_HANDLE,
            )
        except ApplicationError as exc:
            await self.refuse(CLOSE_FORBIDDEN, exc.code, exc.message)
            return
        self.agent = user
        self.authenticated = True
        await self.join(events.agents_group(self.workspace.id))
        self.start_idle_watch()

    def _conversation_id(self, data: dict[str, Any]) -> int:
        value: int = _field(data, "conversation_id", int)
        return value

    async def on_queue(self, data: dict[str, Any]) -> None:
        queue = await db_async(selectors.agent_queue)(workspace=self.workspace)
        await self.send_event("queue", conversations=queue)

    async def on_open(self, data: dict[str, Any]) -> None:
        conversation_id = self._conversation_id(data)
        detail = await db_async(selectors.agent_conversation_detail)(
            workspace=self.workspace, conversation_id=conversation_id
        )
        await self.join(events.conversation_group(conversation_id))
        await self.send_event("conversation", **detail)

    async def on_claim(self, data: dict[str, Any]) -> None:
        conversation_id = self._conversation_id(data)
        await db_async(services.conversation_claim)(
            workspace=self.workspace, conversation_id=conversation_id, agent=self.agent
        )
        await self.join(events.conversation_group(conversation_id))

    async def on_message_send(self, data: dict[str, Any]) -> None:
        conversation_id = self._conversation_id(data)
        text = _field(data, "text", str)
        client_message_id = _field(data, "client_message_id", str)
        message, created = await db_async(services.agent_message_send)(
            workspace=self.workspace,
            conversation_id=conversation_id,
            agent=self.agent,
            text=text,
            client_message_id=client_message_id,
        )
        if not created:
            payload = await db_async(events.message_payload)(message)
            await self.send_event("message.new", conversation_id=conversation_id, message=payload)

    async def on_release(self, data: dict[str, Any]) -> None:
        await db_async(services.conversation_release)(
            workspace=self.workspace, conversation_id=self._conversation_id(data), agent=self.agent
        )

    async def on_close(self, data: dict[str, Any]) -> None:
        await db_async(services.conversation_close)(
            workspace=self.workspace, conversation_id=self._conversation_id(data), agent=self.agent
        )

    async def on_typing(self, data: dict[str, Any]) -> None:
        conversation_id = self._conversation_id(data)
        active = _field(data, "active", bool)
        if events.conversation_group(conversation_id) in self.groups_joined:
            await events.apublish(
                events.conversation_group(conversation_id),
                events.event(
                    "typing", conversation_id=conversation_id, sender=self.sender, active=active
                ),
            )
