from django.contrib import admin

from apps.dialogue.models import TurnTrace


@admin.register(TurnTrace)
class TurnTraceAdmin(admin.ModelAdmin[TurnTrace]):
    list_display = (
        "id",
        "workspace",
        "conversation",
        "intent",
        "route",
        "latency_ms",
        "created_at",
    )
    list_filter = ("workspace", "route")
    search_fields = ("intent",)
    raw_id_fields = ("conversation", "customer_message", "reply_message")
    readonly_fields = ("created_at",)
