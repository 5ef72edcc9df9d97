from django.contrib import admin

from apps.review.models import HandoffOutcome, ReviewItem, ReviewLabel, ReviewSettings, WeakLabel


@admin.register(ReviewSettings)
class ReviewSettingsAdmin(admin.ModelAdmin[ReviewSettings]):
    list_display = ("workspace", "double_label_share", "low_confidence", "lookback_days")


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin[ReviewItem]):
    list_display = ("id", "workspace", "status", "predicted_intent", "final_intent", "turn_at")
    list_filter = ("workspace", "status")
    raw_id_fields = ("trace",)
    exclude = ("embedding",)


@admin.register(ReviewLabel)
class ReviewLabelAdmin(admin.ModelAdmin[ReviewLabel]):
    list_display = ("id", "item", "labeller", "kind", "intent", "out_of_scope", "created_at")
    list_filter = ("kind",)
    raw_id_fields = ("item",)


@admin.register(HandoffOutcome)
class HandoffOutcomeAdmin(admin.ModelAdmin[HandoffOutcome]):
    list_display = ("conversation", "agent", "resolved_intent", "bot_answer_wrong", "updated_at")
    raw_id_fields = ("conversation",)


@admin.register(WeakLabel)
class WeakLabelAdmin(admin.ModelAdmin[WeakLabel]):
    list_display = ("id", "workspace", "rule", "intent", "negative", "created_at")
    list_filter = ("workspace", "rule")
    raw_id_fields = ("trace",)
