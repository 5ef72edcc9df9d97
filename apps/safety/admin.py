from django.contrib import admin

from apps.safety.models import PiiRevealLog, SafetyPolicy


@admin.register(SafetyPolicy)
class SafetyPolicyAdmin(admin.ModelAdmin[SafetyPolicy]):
    list_display = ("workspace", "redaction_mode", "injection_action", "updated_at")


@admin.register(PiiRevealLog)
class PiiRevealLogAdmin(admin.ModelAdmin[PiiRevealLog]):
    list_display = ("created_at", "workspace", "message", "user")
    list_filter = ("workspace",)
    readonly_fields = ("workspace", "message", "user", "created_at")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
