from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.chat.models import Conversation, Message
from apps.chat.tasks import conversations_purge_expired
from tests.factories import ConversationFactory, MessageFactory, WorkspaceFactory


def _closed(workspace: Any, days_ago: int) -> Conversation:
    conversation = ConversationFactory(
        workspace=workspace,
        status=Conversation.Status.CLOSED,
        closed_at=timezone.now() - timedelta(days=days_ago),
    )
    MessageFactory(conversation=conversation)
    return conversation


@pytest.mark.django_db
def test_purge_respects_each_workspace_retention() -> None:
    short = WorkspaceFactory(retention_days=7)
    long = WorkspaceFactory(retention_days=90)
    expired = _closed(short, days_ago=8)
    kept_recent = _closed(short, days_ago=6)
    kept_long = _closed(long, days_ago=30)
    open_old = ConversationFactory(workspace=short)

    assert conversations_purge_expired.delay().get() == 1

    remaining = set(Conversation.objects.values_list("id", flat=True))
    assert remaining == {kept_recent.id, kept_long.id, open_old.id}
    assert not Message.objects.filter(conversation_id=expired.id).exists()
    assert conversations_purge_expired.delay().get() == 0
