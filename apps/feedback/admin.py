from django.contrib import admin

from apps.feedback.models import MessageFeedback


@admin.register(MessageFeedback)
class MessageFeedbackAdmin(admin.ModelAdmin[MessageFeedback]):
    list_display = ("id", "workspace", "message", "rating", "reason", "created_at")
    list_filter = ("workspace", "rating")
    raw_id_fields = ("message",)
