"""Reads of the bot's turns."""

from typing import Any

from apps.chat.models import Conversation
from apps.dialogue.models import TurnTrace


def turn_notes(*, conversation: Conversation) -> list[dict[str, Any]]:
    """The bot's notes on each of its turns, for the agent taking over."""
    traces = TurnTrace.objects.filter(conversation=conversation).order_by("id")
    return [
        {
            "message_id": trace.customer_message_id,
            "reply_message_id": trace.reply_message_id,
            "intent": trace.intent,
            "route": trace.route,
            "reason": (trace.data.get("route") or {}).get("reason", ""),
            "sources": trace.data.get("sources", []),
            "latency_ms": trace.latency_ms,
        }
        for trace in traces
    ]
