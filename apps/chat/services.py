"""Writes of conversations and messages."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import CustomerSession, User, Workspace
from apps.chat.models import Conversation, Message

logger = logging.getLogger(__name__)

CLIENT_MESSAGE_ID_MAX = 64


def conversation_get_or_start(*, session: CustomerSession) -> Conversation:
    """The customer's open conversation, or a new one when there is none."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update()
            .filter(customer_session=session)
            .exclude(status=Conversation.Status.CLOSED)
            .order_by("-created_at", "-id")
            .first()
        )
        if conversation is None:
            conversation = Conversation.objects.create(
                workspace_id=session.workspace_id, customer_session=session
            )
            logger.info(
                "conversation started id=%s workspace=%s", conversation.id, session.workspace_id
            )
        return conversation


def _validate_text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({"text": "A message needs some text."})
    if len(text) > settings.MESSAGE_MAX_CHARS:
        raise ValidationError(
            {"text": f"A message can be at most {settings.MESSAGE_MAX_CHARS} characters."}
        )
    return text


def message_create(
    *,
    conversation: Conversation,
    sender: str,
    text: str,
    client_message_id: str | None = None,
    agent: User | None = None,
) -> tuple[Message, bool]:
    """Stores a message once. Returns ``(message, created)``.

    A second call with the same ``client_message_id`` in the same conversation returns the stored
    message with ``created=False``, also when two calls race.
    """
    text = _validate_text(text)
    if client_message_id is not None and not (0 < len(client_message_id) <= CLIENT_MESSAGE_ID_MAX):
        raise ValidationError(
            {"client_message_id": f"Must be 1 to {CLIENT_MESSAGE_ID_MAX} characters."}
        )
    if sender == Message.Sender.AGENT and agent is None:
        raise ValidationError({"agent": "An agent message needs its agent."})

    if client_message_id is not None:
        existing = Message.objects.filter(
            conversation=conversation, client_message_id=client_message_id
        ).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation,
                sender=sender,
                text=text,
                client_message_id=client_message_id,
                agent=agent,
            )
            Conversation.objects.filter(id=conversation.id).update(
                last_message_at=message.created_at, updated_at=message.created_at
            )
    except IntegrityError:
        # Lost a race with the same client_message_id: the other insert won; return its row.
        existing = Message.objects.filter(
            conversation=conversation, client_message_id=client_message_id
        ).first()
        if existing is None:
            raise
        return existing, False
    return message, True


def conversations_purge_expired(*, workspace: Workspace | None = None) -> int:
    """Deletes closed conversations older than their workspace's retention period.

    Returns how many conversations were deleted (their messages and traces go with them).
    """
    workspaces = Workspace.objects.all() if workspace is None else [workspace]
    deleted = 0
    now = timezone.now()
    for ws in workspaces:
        cutoff = now - timedelta(days=ws.retention_days)
        expired = Conversation.objects.filter(
            workspace=ws, status=Conversation.Status.CLOSED, closed_at__lt=cutoff
        )
        count = expired.count()
        if count:
            expired.delete()
            logger.info("purged %s expired conversations workspace=%s", count, ws.id)
        deleted += count
    return deleted


def customer_message_receive(
    *, session: CustomerSession, text: str, client_message_id: str
) -> tuple[Message, bool]:
    """A customer's message, stored in their open conversation before anything acknowledges it."""
    conversation = conversation_get_or_start(session=session)
    return message_create(
        conversation=conversation,
        sender=Message.Sender.CUSTOMER,
        text=text,
        client_message_id=client_message_id,
    )
