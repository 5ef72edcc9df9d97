"""Reads of conversations and messages, always inside one workspace."""

from django.db.models import Count, QuerySet

from apps.accounts.models import CustomerSession, Workspace
from apps.chat.models import Conversation, Message
from apps.core.exceptions import NotFound


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
