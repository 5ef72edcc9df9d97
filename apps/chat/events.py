"""The chat protocol's events (see PROTOCOL.md): their shapes, their groups, and publishing them.

Every conversation has one channel-layer group; the customer's socket and the sockets of agents
who opened it are in it. Every workspace has one group of agent sockets for the live queue.
Services publish after their transaction commits, so nobody hears of a row that isn't stored.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from apps.chat.models import Conversation, Message

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
# The type the consumers implement for every relayed event (``chat_event``).
RELAY = "chat.event"


def conversation_group(conversation_id: int) -> str:
    return f"conv.{conversation_id}"


def agents_group(workspace_id: int) -> str:
    return f"agents.{workspace_id}"


def event(type_: str, **fields: Any) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "type": type_, **fields}


def _name(user: Any) -> str | None:
    if user is None:
        return None
    return str(user.get_full_name() or user.username)


def message_payload(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "sender": message.sender,
        "text": message.text,
        "client_message_id": message.client_message_id,
        "created_at": message.created_at.isoformat(),
        "agent_name": _name(message.agent) if message.agent_id else None,
        "sources": message.sources or [],
    }


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return {"id": conversation.id, "status": conversation.status}


def conversation_summary(conversation: Conversation) -> dict[str, Any]:
    """What an agent's queue shows of a conversation."""
    last = conversation.messages.order_by("-id").first()
    return {
        **conversation_payload(conversation),
        "assigned_agent": conversation.assigned_agent.username
        if conversation.assigned_agent_id and conversation.assigned_agent
        else None,
        "created_at": conversation.created_at.isoformat(),
        "last_message_at": conversation.last_message_at.isoformat()
        if conversation.last_message_at
        else None,
        "last_message": last.text[:160] if last else "",
        "handoff_reason": conversation.handoff_reason,
    }


def publish(group: str, payload: dict[str, Any]) -> None:
    """Sends an event to a group once the current transaction commits (at once outside one)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group, {"type": RELAY, "event": payload})
        except Exception:  # the row is stored; a listener catches up with `sync`
            logger.exception("publishing %s to %s failed", payload.get("type"), group)

    transaction.on_commit(send)


async def apublish(group: str, payload: dict[str, Any]) -> None:
    """``publish`` for async code with nothing to commit (stream deltas)."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, {"type": RELAY, "event": payload})


def publish_message(message: Message, conversation: Conversation) -> None:
    publish(
        conversation_group(conversation.id),
        event("message.new", conversation_id=conversation.id, message=message_payload(message)),
    )


def publish_conversation_updated(conversation: Conversation) -> None:
    publish(
        agents_group(conversation.workspace_id),
        event("conversation.updated", conversation=conversation_summary(conversation)),
    )
