from typing import Any

from rest_framework import serializers

from apps.chat.models import Conversation, Message
from apps.chat.services import CLIENT_MESSAGE_ID_MAX


class MessageOutput(serializers.ModelSerializer[Message]):
    agent = serializers.CharField(
        source="agent.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Message
        fields = ["id", "sender", "agent", "text", "client_message_id", "created_at"]


class WidgetMessageOutput(serializers.ModelSerializer[Message]):
    """What the customer sees: no agent usernames."""

    class Meta:
        model = Message
        fields = ["id", "sender", "text", "client_message_id", "created_at"]


class ConversationOutput(serializers.ModelSerializer[Conversation]):
    assigned_agent = serializers.CharField(
        source="assigned_agent.username", read_only=True, default=None, allow_null=True
    )
    message_count = serializers.IntegerField(read_only=True)
    customer_session = serializers.UUIDField(source="customer_session_id", read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "status",
            "customer_session",
            "assigned_agent",
            "created_at",
            "updated_at",
            "last_message_at",
            "closed_at",
            "csat_score",
            "csat_comment",
            "message_count",
        ]


class ConversationListFilter(serializers.Serializer[None]):
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)


class MessageListFilter(serializers.Serializer[None]):
    after = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False)


class WidgetSessionInput(serializers.Serializer[None]):
    resume_token = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class WidgetSessionOutput(serializers.Serializer[dict[str, Any]]):
    token = serializers.CharField()
    session_id = serializers.UUIDField()
    expires_at = serializers.DateTimeField()


class WidgetMessageInput(serializers.Serializer[None]):
    text = serializers.CharField(trim_whitespace=False)
    client_message_id = serializers.CharField(max_length=CLIENT_MESSAGE_ID_MAX)
