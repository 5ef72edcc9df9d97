"""One bot turn: stream the reply to the conversation's group, store it, and trace it.

A turn runs as its own task, not inside the customer's socket: when the socket drops halfway
through a streamed reply, the reply is still finished and stored, and the customer gets it with
``sync`` after reconnecting.
"""

import asyncio
import logging
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from apps.chat import events
from apps.chat.models import Conversation, Message
from apps.chat.services import message_create
from apps.core.db import db_async
from apps.dialogue.models import TurnTrace
from apps.dialogue.replies import Replier, TurnInput

logger = logging.getLogger(__name__)

TRACE_VERSION = 1
_running: set[asyncio.Task[Message]] = set()


def replier_get() -> Replier:
    replier: Replier = import_string(settings.DIALOGUE_REPLIER)()
    return replier


def _turn_persist(
    turn: TurnInput,
    customer_message_id: int,
    replier: Replier,
    text: str,
    latency_ms: dict[str, float],
) -> Message:
    conversation = Conversation.objects.get(id=turn.conversation_id)
    with transaction.atomic():
        reply, _ = message_create(
            conversation=conversation,
            sender=Message.Sender.BOT,
            text=text,
            # One reply per customer message, even if a turn were run twice.
            client_message_id=f"reply-{customer_message_id}",
            sources=list(replier.meta.sources),
            publish=False,
        )
        data: dict[str, Any] = {
            "version": TRACE_VERSION,
            "route": {"name": replier.meta.route, "reason": replier.meta.reason},
            "sources": list(replier.meta.sources),
            "generator": {"engine": type(replier).__name__},
            "latency_ms": latency_ms,
        }
        TurnTrace.objects.update_or_create(
            conversation=conversation,
            customer_message_id=customer_message_id,
            defaults={
                "workspace_id": conversation.workspace_id,
                "reply_message": reply,
                "route": replier.meta.route,
                "latency_ms": latency_ms["total"],
                "data": data,
            },
        )
    return reply


class _DeltaStream:
    """Publishes reply chunks as they come. While one publish is in flight, newer chunks wait
    and go out together in the next one: a slow generator streams token by token, a fast one
    doesn't flood the channel layer with a message per token."""

    def __init__(self, group: str, conversation_id: int, stream_id: str):
        self.group = group
        self.conversation_id = conversation_id
        self.stream_id = stream_id
        self.pending: list[str] = []
        self.sender: asyncio.Task[None] | None = None

    def push(self, chunk: str) -> None:
        self.pending.append(chunk)
        if self.sender is None or self.sender.done():
            self.sender = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self.pending:
            delta = "".join(self.pending)
            self.pending.clear()
            await events.apublish(
                self.group,
                events.event(
                    "message.delta",
                    conversation_id=self.conversation_id,
                    stream_id=self.stream_id,
                    delta=delta,
                ),
            )

    async def finish(self) -> None:
        if self.sender is not None:
            await self.sender


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


async def turn_handle(*, turn: TurnInput, customer_message_id: int) -> Message:
    """Answers one customer message (the caller checked the bot has the conversation)."""
    started = time.perf_counter()
    conversation_id = turn.conversation_id
    replier = replier_get()
    group = events.conversation_group(conversation_id)
    stream_id = f"turn-{customer_message_id}"
    await events.apublish(
        group, events.event("typing", conversation_id=conversation_id, sender="bot", active=True)
    )
    chunks: list[str] = []
    latency: dict[str, float] = {}
    stream = _DeltaStream(group, conversation_id, stream_id)
    async for chunk in replier.stream(turn):
        if not chunks:
            latency["first_chunk"] = _ms(started)
        chunks.append(chunk)
        stream.push(chunk)
        await asyncio.sleep(0)  # let the publisher run between chunks
    await stream.finish()
    latency["generate"] = _ms(started)
    latency["total"] = latency["generate"]
    reply: Message = await db_async(_turn_persist)(
        turn, customer_message_id, replier, "".join(chunks), latency
    )
    await events.apublish(
        group,
        events.event(
            "message.done",
            conversation_id=conversation_id,
            stream_id=stream_id,
            message=events.message_payload(reply),  # a bot reply has no agent to load
        ),
    )
    return reply


def turn_start(*, turn: TurnInput, customer_message_id: int) -> asyncio.Task[Message]:
    """Runs ``turn_handle`` in the background of this process's event loop."""
    task = asyncio.get_running_loop().create_task(
        turn_handle(turn=turn, customer_message_id=customer_message_id)
    )
    _running.add(task)
    task.add_done_callback(_turn_finished)
    return task


def _turn_finished(task: asyncio.Task[Message]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("turn failed", exc_info=task.exception())
