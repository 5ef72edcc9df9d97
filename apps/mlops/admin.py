from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.mlops.models import Decision, ModelVersion, ReleasePolicy
from apps.mlops.services.schedule import release_policy_update


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    """Read-only: states change through the registry's services (the API), which keep one
    champion, ``is_active`` and the revision every worker watches in step."""

    list_display = ("workspace", "kind", "number", "state", "trigger", "canary_share", "created_at")
    list_filter = ("workspace", "kind", "state", "trigger")
    readonly_fields = [f.name for f in ModelVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin[Decision]):
    """The audit log: read-only."""

    list_display = ("created_at", "workspace", "kind", "action", "version", "decider", "user")
    list_filter = ("workspace", "kind", "action", "decider")
    readonly_fields = [f.name for f in Decision._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(ReleasePolicy)
class ReleasePolicyAdmin(admin.ModelAdmin[ReleasePolicy]):
    list_display = (
        "workspace",
        "nlu_schedule",
        "adapter_schedule",
        "min_new_labels",
        "canary_share",
        "min_canary_conversations",
    )
    list_filter = ("workspace",)

    def save_model(self, request: HttpRequest, obj: ReleasePolicy, form: Any, change: bool) -> None:
        """Through the service: the workspace's beat schedule follows its cron."""
        fields = {name: value for name, value in form.cleaned_data.items() if name != "workspace"}
        saved = release_policy_update(workspace=obj.workspace, **fields)
        obj.pk = saved.pk
