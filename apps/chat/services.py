"""Writes of conversations and messages."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import CustomerSession, User, Workspace
from apps.chat import events, hooks
from apps.chat.models import BotTurn, Conversation, Message
from apps.core import metrics
from apps.core.db import retry_on_database_lock
from apps.core.exceptions import Conflict, Forbidden, NotFound, RateLimited
from apps.core.ratelimit import Rate, rate_limit_allow

logger = logging.getLogger(__name__)

CLIENT_MESSAGE_ID_MAX = 64


def conversation_get_or_start(*, session: CustomerSession) -> Conversation:
    """The customer's open conversation, or a new one when there is none."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
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
            transaction.on_commit(metrics.CONVERSATIONS_STARTED.inc)
        return conversation


def _validate_text(text: str, *, check_length: bool = True) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({"text": "A message needs some text."})
    if check_length and len(text) > settings.MESSAGE_MAX_CHARS:
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
    sources: list[dict[str, str]] | None = None,
    pii_found: dict[str, int] | None = None,
    publish: bool = True,
) -> tuple[Message, bool]:
    """Stores a message once. Returns ``(message, created)``.

    A second call with the same ``client_message_id`` in the same conversation returns the stored
    message with ``created=False``, also when two calls race. A new message is published to the
    conversation's group (``message.new``) unless ``publish`` is false (a streamed bot reply ends
    with its own ``message.done``).
    """
    # A redacted text was checked before redaction; placeholders may make it longer.
    text = _validate_text(text, check_length=not pii_found)
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
                sources=sources or [],
                pii_found=pii_found or {},
            )
            Conversation.objects.filter(id=conversation.id).update(
                last_message_at=message.created_at, updated_at=message.created_at
            )
            if publish:
                events.publish_message(message, conversation)
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


def customer_message_limit(*, session: CustomerSession, ip: str) -> None:
    """Refuses a customer message over the per-session or per-IP rate (the same limits for the
    WebSocket and the REST endpoint)."""
    session_rate = Rate.parse(settings.CHAT_RATE_MESSAGES_PER_SESSION)
    ip_rate = Rate.parse(settings.CHAT_RATE_MESSAGES_PER_IP)
    if not (
        rate_limit_allow(scope="msg-session", key=str(session.id), rate=session_rate)
        and rate_limit_allow(scope="msg-ip", key=ip, rate=ip_rate)
    ):
        raise RateLimited("You are sending messages too fast; wait a moment.")


@retry_on_database_lock
def customer_message_receive(
    *, session: CustomerSession, text: str, client_message_id: str
) -> tuple[Message, bool]:
    """A customer's message, redacted and stored in their open conversation before anything
    acknowledges it. Personal data is replaced by placeholders in what is stored (and so in
    everything downstream: index, training data, the LLM); the original is kept encrypted.

    A resend of a message already stored, in any of the session's conversations (also one
    closed since), returns the stored message with ``created=False``. A message stored while the
    bot has the conversation gets its ``BotTurn`` in the same transaction.
    """
    _validate_text(text)
    existing = _customer_message_find(session=session, client_message_id=client_message_id)
    if existing is not None:
        return existing, False
    conversation = conversation_get_or_start(session=session)
    with transaction.atomic():
        # The lock keeps the conversation's placeholder numbering consistent under concurrency.
        locked = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("workspace")
            .get(id=conversation.id)
        )
        redaction = hooks.inbound_redact(conversation=locked, text=text)
        message, created = message_create(
            conversation=locked,
            sender=Message.Sender.CUSTOMER,
            text=redaction.text,
            client_message_id=client_message_id,
            pii_found=redaction.counts,
        )
        if created and redaction.spans:
            locked.save(update_fields=["pii_placeholders"])
            hooks.message_original_store(message=message, original=text)
        if created and locked.status == Conversation.Status.BOT:
            BotTurn.objects.create(
                customer_message=message, conversation=locked, lease_until=message.created_at
            )
    if created and locked.status != Conversation.Status.BOT:
        events.publish_conversation_updated(locked)
    return message, created


def _customer_message_find(*, session: CustomerSession, client_message_id: str) -> Message | None:
    return (
        Message.objects.filter(
            conversation__customer_session=session,
            sender=Message.Sender.CUSTOMER,
            client_message_id=client_message_id,
        )
        .order_by("-id")
        .first()
    )


# --- the bot's turns --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedTurn:
    """A bot turn this process now holds, with what the turn needs to run."""

    customer_message_id: int
    conversation_id: int
    workspace_id: int
    language: str
    text: str
    attempt: int


@retry_on_database_lock
def bot_turn_claim(*, customer_message_id: int, lease_seconds: float) -> ClaimedTurn | None:
    """Takes the message's bot turn if it is waiting, or if the process that held it let its
    lease run out. ``None`` when it is done, or another process holds it. When a person has the
    conversation by now, the turn is skipped (they answer) and ``None`` returned."""
    now = timezone.now()
    with transaction.atomic():
        turn = (
            BotTurn.objects.select_for_update(of=("self",))
            .select_related("conversation__workspace", "customer_message")
            .filter(
                customer_message_id=customer_message_id,
                state__in=[BotTurn.State.PENDING, BotTurn.State.RUNNING],
                lease_until__lte=now,
            )
            .first()
        )
        if turn is None:
            return None
        conversation = turn.conversation
        if conversation.status != Conversation.Status.BOT:
            turn.state = BotTurn.State.SKIPPED
            turn.save(update_fields=["state", "updated_at"])
            return None
        turn.state = BotTurn.State.RUNNING
        turn.attempts += 1
        turn.lease_until = now + timedelta(seconds=lease_seconds)
        turn.save(update_fields=["state", "attempts", "lease_until", "updated_at"])
    return ClaimedTurn(
        customer_message_id=customer_message_id,
        conversation_id=conversation.id,
        workspace_id=conversation.workspace_id,
        language=conversation.workspace.language,
        text=turn.customer_message.text,
        attempt=turn.attempts,
    )


def bot_turn_renew(*, customer_message_id: int, attempt: int, lease_seconds: float) -> bool:
    """Extends the lease of a turn this process holds. False when it no longer holds it."""
    updated = BotTurn.objects.filter(
        customer_message_id=customer_message_id, state=BotTurn.State.RUNNING, attempts=attempt
    ).update(lease_until=timezone.now() + timedelta(seconds=lease_seconds))
    return updated == 1


def bot_turn_done(*, customer_message_id: int) -> None:
    """Marks the turn answered; call it in the transaction that stores the reply."""
    BotTurn.objects.filter(customer_message_id=customer_message_id).exclude(
        state__in=[BotTurn.State.HANDED_OFF, BotTurn.State.SKIPPED]
    ).update(state=BotTurn.State.DONE, updated_at=timezone.now())


@retry_on_database_lock
def bot_turn_fail(*, customer_message_id: int, attempt: int, error: str) -> str:
    """Records a failed attempt. The turn waits to be tried again (backing off), or, after
    ``TURN_MAX_ATTEMPTS``, the conversation goes to a person. Returns the turn's new state."""
    with transaction.atomic():
        turn = (
            BotTurn.objects.select_for_update(of=("self",))
            .filter(customer_message_id=customer_message_id, attempts=attempt)
            .exclude(state__in=[BotTurn.State.DONE, BotTurn.State.HANDED_OFF])
            .first()
        )
        if turn is None:
            return "gone"
        turn.last_error = error[:200]
        if turn.attempts >= settings.TURN_MAX_ATTEMPTS:
            turn.state = BotTurn.State.HANDED_OFF
            turn.save(update_fields=["state", "last_error", "updated_at"])
            conversation_handoff(conversation_id=turn.conversation_id, reason="bot_error")
        else:
            backoff = settings.TURN_RETRY_BACKOFF_SECONDS * 2 ** (turn.attempts - 1)
            turn.state = BotTurn.State.PENDING
            turn.lease_until = timezone.now() + timedelta(seconds=backoff)
            turn.save(update_fields=["state", "lease_until", "last_error", "updated_at"])
        logger.warning(
            "bot turn failed message=%s attempt=%s state=%s",
            customer_message_id,
            attempt,
            turn.state,
        )
        return str(turn.state)


# --- handoff between the bot and agents ------------------------------------------------------

_SYSTEM_TEXT = {
    "handoff_requested": {
        "en": "Connecting you with a person. Please stay on this page.",
        "zh": "正在为您转接人工客服，请稍候。",
    },
    "agent_joined": {"en": "{name} joined the conversation.", "zh": "{name} 已加入对话。"},
    "released": {
        "en": "You are chatting with the assistant again.",
        "zh": "您已回到智能助手对话。",
    },
    "closed": {"en": "This conversation is closed.", "zh": "本次对话已结束。"},
}


def _system_message(conversation: Conversation, key: str, **fields: str) -> Message:
    language = conversation.workspace.language
    texts = _SYSTEM_TEXT[key]
    text = texts.get(language, texts["en"]).format(**fields)
    message, _ = message_create(conversation=conversation, sender=Message.Sender.SYSTEM, text=text)
    return message


def _locked(conversation_id: int, workspace: Workspace) -> Conversation:
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("workspace", "assigned_agent")
        .filter(id=conversation_id, workspace=workspace)
        .first()
    )
    if conversation is None:
        raise NotFound("No such conversation in this workspace.")
    return conversation


def agent_display_name(agent: User) -> str:
    return agent.get_full_name() or agent.username


@transaction.atomic
def conversation_handoff_request(
    *, session: CustomerSession, reason: str = "customer_request"
) -> Conversation:
    """Puts the customer's conversation in the agents' queue (no-op if a person has it already)."""
    current = conversation_get_or_start(session=session)
    return conversation_handoff(conversation_id=current.id, reason=reason)


@transaction.atomic
def conversation_handoff(*, conversation_id: int, reason: str) -> Conversation:
    """Moves a bot conversation to the agents' queue, for the customer or the bot's own rules."""
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("workspace", "assigned_agent")
        .get(id=conversation_id)
    )
    if conversation.status != Conversation.Status.BOT:
        return conversation
    conversation.status = Conversation.Status.WAITING_FOR_AGENT
    conversation.handoff_reason = reason
    conversation.handoff_requested_at = timezone.now()
    conversation.save(update_fields=["status", "handoff_reason", "handoff_requested_at"])
    _system_message(conversation, "handoff_requested")
    events.publish(
        events.conversation_group(conversation.id),
        events.event("handoff.requested", conversation=events.conversation_payload(conversation)),
    )
    events.publish_conversation_updated(conversation)
    logger.info("handoff requested conversation=%s reason=%s", conversation.id, reason)
    transaction.on_commit(lambda: metrics.handoff_observe(reason))
    return conversation


@transaction.atomic
def conversation_claim(*, workspace: Workspace, conversation_id: int, agent: User) -> Conversation:
    """The agent takes the conversation. Of two agents claiming at once, exactly one wins."""
    conversation = _locked(conversation_id, workspace)
    if conversation.status == Conversation.Status.WITH_AGENT:
        if conversation.assigned_agent_id == agent.id:
            return conversation
        holder = conversation.assigned_agent.username if conversation.assigned_agent else "?"
        raise Conflict(f"{holder} already has this conversation.", code="already_claimed")
    if conversation.status == Conversation.Status.CLOSED:
        raise Conflict("This conversation is closed.", code="closed")
    conversation.status = Conversation.Status.WITH_AGENT
    conversation.assigned_agent = agent
    conversation.save(update_fields=["status", "assigned_agent"])
    name = agent_display_name(agent)
    _system_message(conversation, "agent_joined", name=name)
    events.publish(
        events.conversation_group(conversation.id),
        events.event(
            "handoff.accepted",
            conversation=events.conversation_payload(conversation),
            agent_name=name,
        ),
    )
    events.publish_conversation_updated(conversation)
    return conversation


def _ensure_holder(conversation: Conversation, agent: User) -> None:
    if conversation.status != Conversation.Status.WITH_AGENT:
        raise Conflict("Claim the conversation first.", code="not_claimed")
    if conversation.assigned_agent_id != agent.id:
        raise Forbidden("Another agent has this conversation.", code="not_your_conversation")


def agent_message_send(
    *, workspace: Workspace, conversation_id: int, agent: User, text: str, client_message_id: str
) -> tuple[Message, bool]:
    with transaction.atomic():
        conversation = _locked(conversation_id, workspace)
        _ensure_holder(conversation, agent)
        return message_create(
            conversation=conversation,
            sender=Message.Sender.AGENT,
            text=text,
            client_message_id=client_message_id,
            agent=agent,
        )


@transaction.atomic
def conversation_release(
    *, workspace: Workspace, conversation_id: int, agent: User
) -> Conversation:
    """The agent hands the conversation back to the bot."""
    conversation = _locked(conversation_id, workspace)
    _ensure_holder(conversation, agent)
    conversation.status = Conversation.Status.BOT
    conversation.assigned_agent = None
    conversation.save(update_fields=["status", "assigned_agent"])
    _system_message(conversation, "released")
    events.publish(
        events.conversation_group(conversation.id),
        events.event("handoff.released", conversation=events.conversation_payload(conversation)),
    )
    events.publish_conversation_updated(conversation)
    return conversation


@transaction.atomic
def conversation_close(*, workspace: Workspace, conversation_id: int, agent: User) -> Conversation:
    conversation = _locked(conversation_id, workspace)
    if conversation.status == Conversation.Status.CLOSED:
        return conversation
    if conversation.status == Conversation.Status.WITH_AGENT:
        _ensure_holder(conversation, agent)
    conversation.status = Conversation.Status.CLOSED
    conversation.closed_at = timezone.now()
    conversation.save(update_fields=["status", "closed_at"])
    _system_message(conversation, "closed")
    events.publish(
        events.conversation_group(conversation.id),
        events.event("conversation.closed", conversation=events.conversation_payload(conversation)),
    )
    events.publish_conversation_updated(conversation)
    return conversation


@transaction.atomic
def conversation_csat_record(
    *, session: CustomerSession, score: int, comment: str = ""
) -> Conversation:
    """The customer's rating of their latest conversation."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ValidationError({"score": "Score must be a whole number from 1 to 5."})
    if len(comment) > 1000:
        raise ValidationError({"comment": "A comment can be at most 1000 characters."})
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .filter(customer_session=session)
        .order_by("-created_at", "-id")
        .first()
    )
    if conversation is None:
        raise NotFound("There is no conversation to rate.", code="no_conversation")
    comment = comment.strip()
    conversation.csat_score = score
    # Stored redacted, like the customer's messages (the placeholder map is saved with it).
    conversation.csat_comment = (
        hooks.customer_text_redact(conversation=conversation, text=comment) if comment else ""
    )
    conversation.save(update_fields=["csat_score", "csat_comment"])
    transaction.on_commit(lambda: metrics.CSAT_SCORES.labels(score=str(score)).inc())
    return conversation
