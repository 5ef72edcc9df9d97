import pytest

from apps.chat.models import Message
from apps.feedback.models import MessageFeedback
from apps.feedback.services import feedback_record
from tests.factories import ConversationFactory, MessageFactory


@pytest.mark.django_db
def test_a_reason_is_stored_redacted() -> None:
    conversation = ConversationFactory()
    answer = MessageFactory(conversation=conversation, sender=Message.Sender.BOT)
    feedback_record(
        session=conversation.customer_session,
        message_id=answer.id,
        rating="down",
        reason="Wrong! My card 4111 1111 1111 1111 was charged, write to jane.roe@example.com",
    )
    stored = MessageFeedback.objects.get(message=answer)
    assert stored.reason == "Wrong! My card <CARD_1> was charged, write to <EMAIL_1>"
