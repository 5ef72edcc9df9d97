from django.contrib import admin

from apps.chat.models import Conversation, Message


class MessageInline(admin.TabularInline[Message, Conversation]):
    model = Message
    extra = 0
    fields = ("sender", "agent", "text", "pii_found", "client_message_id", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("agent",)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    list_display = ("id", "workspace", "status", "assigned_agent", "created_at", "csat_score")
    list_filter = ("workspace", "status")
    raw_id_fields = ("customer_session", "assigned_agent")
    readonly_fields = ("created_at", "updated_at", "last_message_at")
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = ("id", "conversation", "sender", "created_at")
    list_filter = ("sender", "conversation__workspace")
    raw_id_fields = ("conversation", "agent")
    readonly_fields = ("created_at",)
