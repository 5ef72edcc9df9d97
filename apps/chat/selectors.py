"""Reads of conversations and messages, always inside one workspace."""

from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from apps.accounts.models import CustomerSession, Workspace
from apps.chat import events, hooks
from apps.chat.models import BotTurn, Conversation, Message
from apps.core.exceptions import NotFound

QUEUE_LIMIT = 100


def conversation_list(*, workspace: Workspace, status: str | None = None) -> QuerySet[Conversation]:
    conversations = (
        Conversation.objects.filter(workspace=workspace)
        .select_related("assigned_agent")
        .annotate(message_count=Count("messages"))
    )
    if status:
        conversations = conversations.filter(status=status)
    return conversations.order_by("-created_at", "-id")


def conversation_get(*, workspace: Workspace, conversation_id: int) -> Conversation:
    conversation = conversation_list(workspace=workspace).filter(id=conversation_id).first()
    if conversation is None:
        raise NotFound("No such conversation in this workspace.")
    return conversation


def message_list(*, conversation: Conversation, after_id: int | None = None) -> QuerySet[Message]:
    """Messages in order; ``after_id`` gives only those newer than a message the caller has seen."""
    messages = Message.objects.filter(conversation=conversation).select_related("agent")
    if after_id is not None:
        messages = messages.filter(id__gt=after_id)
    return messages.order_by("id")


def conversation_current_for_session(*, session: CustomerSession) -> Conversation | None:
    """The customer's newest conversation (closed ones too, so a reload shows how it ended)."""
    return (
        Conversation.objects.filter(customer_session=session).order_by("-created_at", "-id").first()
    )


def agent_queue(*, workspace: Workspace) -> list[dict[str, Any]]:
    """The agents' queue: waiting conversations (oldest request first), then those with agents."""
    waiting = Conversation.objects.filter(
        workspace=workspace, status=Conversation.Status.WAITING_FOR_AGENT
    ).order_by("handoff_requested_at", "id")
    taken = Conversation.objects.filter(
        workspace=workspace, status=Conversation.Status.WITH_AGENT
    ).order_by("-last_message_at", "-id")
    rows = [*waiting.select_related("assigned_agent")[:QUEUE_LIMIT]]
    rows += [*taken.select_related("assigned_agent")[: QUEUE_LIMIT - len(rows)]]
    return [events.conversation_summary(conversation) for conversation in rows]


def agent_conversation_detail(*, workspace: Workspace, conversation_id: int) -> dict[str, Any]:
    conversation = conversation_get(workspace=workspace, conversation_id=conversation_id)
    messages = message_list(conversation=conversation)
    return {
        "conversation": events.conversation_summary(conversation),
        "messages": [events.message_payload(message) for message in messages],
        "notes": hooks.turn_notes(conversation=conversation),
    }


def bot_turns_due(*, limit: int = 50) -> list[int]:
    """Customer message ids whose bot turn may run now: waiting, or held by a process whose
    lease has run out (it died, or lost its database or broker). Oldest first."""
    return list(
        BotTurn.objects.filter(
            state__in=[BotTurn.State.PENDING, BotTurn.State.RUNNING],
            lease_until__lte=timezone.now(),
        )
        .order_by("lease_until")
        .values_list("customer_message_id", flat=True)[:limit]
    )


def bot_reply_for(*, message: Message) -> Message | None:
    """The bot's reply to a customer message, once stored."""
    return Message.objects.filter(
        conversation_id=message.conversation_id, client_message_id=f"reply-{message.id}"
    ).first()
