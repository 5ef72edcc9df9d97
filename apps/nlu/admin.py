from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

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
    list_display = ("id", "workspace", "status", "stopped", "is_active", "examples", "created_at")
    list_filter = ("workspace", "status", "is_active")
    readonly_fields = (
        "stopped",
        "metrics",
        "config",
        "artifact_path",
        "error",
        "started_at",
        "finished_at",
    )

    @admin.display(description="stopped")
    def stopped(self, run: TrainingRun) -> str:
        if not run.stop_reason:
            return "-"
        steps = run.metrics.get("steps"), run.metrics.get("steps_planned")
        text = f"{run.stop_reason} ({steps[0]} of {steps[1]} steps)"
        if run.budget_warning:
            return format_html('<strong style="color: #ba2121">&#9888; {}</strong>', text)
        return text

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        run = self.get_object(request, object_id)
        if run is not None and run.budget_warning:
            messages.warning(request, f"Run {run.pk}: {run.budget_warning}.")
        return super().change_view(request, object_id, form_url, extra_context)
