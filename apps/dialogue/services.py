"""One bot turn: stream the reply to the conversation's group, store it, and trace it.

A turn runs as its own task, not inside the customer's socket: when the socket drops halfway
through a streamed reply, the reply is still finished and stored, and the customer gets it with
``sync`` after reconnecting.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from apps.chat import events
from apps.chat.models import Conversation, Message
from apps.chat.services import message_create
from apps.dialogue.models import TurnTrace
from apps.dialogue.replies import Replier, TurnInput

logger = logging.getLogger(__name__)

TRACE_VERSION = 1
_running: set[asyncio.Task[Message | None]] = set()


def replier_get() -> Replier:
    replier: Replier = import_string(settings.DIALOGUE_REPLIER)()
    return replier


@dataclass(frozen=True)
class _TurnContext:
    turn: TurnInput
    customer_message_id: int
    status: str


def _turn_context(conversation_id: int, customer_message_id: int) -> _TurnContext:
    message = Message.objects.select_related("conversation__workspace").get(
        id=customer_message_id, conversation_id=conversation_id
    )
    conversation = message.conversation
    return _TurnContext(
        turn=TurnInput(
            workspace_id=conversation.workspace_id,
            language=conversation.workspace.language,
            conversation_id=conversation.id,
            text=message.text,
        ),
        customer_message_id=message.id,
        status=conversation.status,
    )


def _turn_persist(
    context: _TurnContext, replier: Replier, text: str, latency_ms: dict[str, float]
) -> Message:
    conversation = Conversation.objects.get(id=context.turn.conversation_id)
    with transaction.atomic():
        reply, _ = message_create(
            conversation=conversation,
            sender=Message.Sender.BOT,
            text=text,
            # One reply per customer message, even if a turn were run twice.
            client_message_id=f"reply-{context.customer_message_id}",
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
            customer_message_id=context.customer_message_id,
            defaults={
                "workspace_id": conversation.workspace_id,
                "reply_message": reply,
                "route": replier.meta.route,
                "latency_ms": latency_ms["total"],
                "data": data,
            },
        )
    return reply


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


async def turn_handle(*, conversation_id: int, customer_message_id: int) -> Message | None:
    """Answers one customer message; returns the stored reply (None when a person has the chat)."""
    started = time.perf_counter()
    context = await database_sync_to_async(_turn_context)(conversation_id, customer_message_id)
    if context.status != Conversation.Status.BOT:
        return None
    replier = replier_get()
    group = events.conversation_group(conversation_id)
    stream_id = f"turn-{customer_message_id}"
    await events.apublish(
        group, events.event("typing", conversation_id=conversation_id, sender="bot", active=True)
    )
    chunks: list[str] = []
    latency: dict[str, float] = {}
    async for chunk in replier.stream(context.turn):
        if not chunks:
            latency["first_chunk"] = _ms(started)
        chunks.append(chunk)
        await events.apublish(
            group,
            events.event(
                "message.delta", conversation_id=conversation_id, stream_id=stream_id, delta=chunk
            ),
        )
    latency["generate"] = _ms(started)
    latency["total"] = latency["generate"]
    reply: Message = await database_sync_to_async(_turn_persist)(
        context, replier, "".join(chunks), latency
    )
    await events.apublish(
        group,
        events.event(
            "message.done",
            conversation_id=conversation_id,
            stream_id=stream_id,
            message=await database_sync_to_async(events.message_payload)(reply),
        ),
    )
    return reply


def turn_start(*, conversation_id: int, customer_message_id: int) -> asyncio.Task[Message | None]:
    """Runs ``turn_handle`` in the background of this process's event loop."""
    task = asyncio.get_running_loop().create_task(
        turn_handle(conversation_id=conversation_id, customer_message_id=customer_message_id)
    )
    _running.add(task)
    task.add_done_callback(_turn_finished)
    return task


def _turn_finished(task: asyncio.Task[Message | None]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("turn failed", exc_info=task.exception())
