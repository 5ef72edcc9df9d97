from django.contrib import admin

from apps.nlu.models import Intent, TrainingExample, TrainingRun


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin[Intent]):
    list_display = ("name", "workspace", "description")
    list_filter = ("workspace",)
    search_fields = ("name", "description")


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin[TrainingExample]):
    list_display = ("text", "intent", "sentiment", "source", "workspace")
    list_filter = ("workspace", "source", "sentiment")
    search_fields = ("text",)
    raw_id_fields = ("intent",)


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin[TrainingRun]):
    list_display = ("id", "workspace", "status", "is_active", "examples", "created_at")
    list_filter = ("workspace", "status", "is_active")
    readonly_fields = ("metrics", "config", "artifact_path", "error", "started_at", "finished_at")
