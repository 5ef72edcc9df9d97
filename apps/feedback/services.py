"""Writes of customer feedback."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import CustomerSession
from apps.chat.models import Conversation, Message
from apps.core.exceptions import NotFound
from apps.feedback.models import MessageFeedback
from apps.safety.services import customer_text_redact

REASON_MAX = 500


@transaction.atomic
def feedback_record(
    *, session: CustomerSession, message_id: int, rating: str, reason: str = ""
) -> MessageFeedback:
    """The customer's rating of one bot answer in their own conversations (last one wins). The
    reason is stored redacted, like the customer's messages."""
    if rating not in MessageFeedback.Rating.values:
        raise ValidationError({"rating": "Rating must be 'up' or 'down'."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"A reason can be at most {REASON_MAX} characters."})
    message = Message.objects.filter(
        id=message_id,
        sender=Message.Sender.BOT,
        conversation__customer_session=session,
    ).first()
    if message is None:
        raise NotFound("No such bot message in your conversation.", code="unknown_message")
    reason = reason.strip()
    if reason:
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("workspace")
            .get(id=message.conversation_id)
        )
        reason = customer_text_redact(conversation=conversation, text=reason)
    feedback, _ = MessageFeedback.objects.update_or_create(
        message=message,
        defaults={"workspace_id": session.workspace_id, "rating": rating, "reason": reason},
    )
    return feedback
