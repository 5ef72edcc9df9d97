from typing import Any

import pytest
from django.core.exceptions import ValidationError

from apps.chat.models import Message
from apps.chat.services import customer_message_receive, message_create
from tests.factories import ConversationFactory, CustomerSessionFactory


@pytest.mark.django_db
def test_duplicate_client_message_id_stores_one_message() -> None:
    conversation = ConversationFactory()
    first, created = message_create(
        conversation=conversation, sender="customer", text="hello", client_message_id="c-1"
    )
    again, created_again = message_create(
        conversation=conversation, sender="customer", text="hello", client_message_id="c-1"
    )
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert Message.objects.filter(conversation=conversation).count() == 1


@pytest.mark.django_db
def test_same_client_id_in_another_conversation_is_another_message() -> None:
    one, two = ConversationFactory(), ConversationFactory()
    message_create(conversation=one, sender="customer", text="hi", client_message_id="c-1")
    _, created = message_create(
        conversation=two, sender="customer", text="hi", client_message_id="c-1"
    )
    assert created is True


@pytest.mark.django_db
def test_bot_messages_need_no_client_id() -> None:
    conversation = ConversationFactory()
    for _ in range(2):
        message_create(conversation=conversation, sender="bot", text="How can I help?")
    assert conversation.messages.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "client_id", "field"),
    [
        ("", "c-1", "text"),
        ("   ", "c-1", "text"),
        ("x" * 4001, "c-1", "text"),
        ("ok", "x" * 65, "client_message_id"),
    ],
)
def test_invalid_messages_are_refused(text: str, client_id: str, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        message_create(
            conversation=ConversationFactory(),
            sender="customer",
            text=text,
            client_message_id=client_id,
        )
    assert field in refused.value.message_dict


@pytest.mark.django_db
def test_customer_message_opens_a_conversation_and_reuses_it(settings: Any) -> None:
    session = CustomerSessionFactory()
    first, _ = customer_message_receive(session=session, text="hi", client_message_id="a")
    second, _ = customer_message_receive(session=session, text="there", client_message_id="b")
    assert first.conversation_id == second.conversation_id
    assert first.conversation.workspace_id == session.workspace_id
    first.conversation.refresh_from_db()
    assert first.conversation.last_message_at == second.created_at
