"""Everything a customer types is stored redacted: CSAT comments too; and redaction never makes a
valid message invalid."""

from typing import Any

import pytest

from apps.chat.models import Conversation, Message
from apps.chat.services import conversation_csat_record, customer_message_receive
from tests.factories import ConversationFactory


@pytest.mark.django_db
def test_a_csat_comment_is_stored_redacted() -> None:
    conversation = ConversationFactory()
    conversation_csat_record(
        session=conversation.customer_session,
        score=2,
        comment="Card 4111 1111 1111 1111 charged twice; mail jane.roe@example.com",
    )
    stored = Conversation.objects.get(id=conversation.id)
    assert stored.csat_comment == "Card <CARD_1> charged twice; mail <EMAIL_1>"


@pytest.mark.django_db
def test_a_message_valid_before_redaction_is_stored(settings: Any) -> None:
    settings.MESSAGE_MAX_CHARS = 4000
    conversation = ConversationFactory()
    tail = " mail a@b.io or c@d.io"  # 6-character e-mails become 9-character placeholders
    text = "x" * (3996 - len(tail)) + tail
    message, created = customer_message_receive(
        session=conversation.customer_session, text=text, client_message_id="long-1"
    )
    assert created
    assert len(text) == 3996
    stored = Message.objects.get(id=message.id)
    assert stored.text == "x" * (3996 - len(tail)) + " mail <EMAIL_1> or <EMAIL_2>"
    assert len(stored.text) == 4002
