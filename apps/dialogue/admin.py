from typing import Any

from django import forms
from django.contrib import admin

from apps.dialogue.models import ConversationState, DialogueSettings, Flow, TurnTrace


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


@admin.register(DialogueSettings)
class DialogueSettingsAdmin(admin.ModelAdmin[DialogueSettings]):
    list_display = ("workspace", "min_confidence", "max_low_confidence_turns", "max_negative_turns")


class FlowForm(forms.ModelForm[Flow]):
    class Meta:
        model = Flow
        fields = ["workspace", "name", "intent", "spec", "enabled"]

    def clean_spec(self) -> Any:
        from ml.dialogue.flows import FlowSpec

        spec = self.cleaned_data["spec"]
        try:
            FlowSpec.from_json({"name": "check", "intent": "check", **spec})
        except (KeyError, TypeError, ValueError) as error:
            raise forms.ValidationError(f"not a valid flow: {error}") from error
        return spec


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin[Flow]):
    form = FlowForm
    list_display = ("name", "intent", "workspace", "enabled")
    list_filter = ("workspace", "enabled")


@admin.register(ConversationState)
class ConversationStateAdmin(admin.ModelAdmin[ConversationState]):
    list_display = ("conversation", "version", "updated_at")
    raw_id_fields = ("conversation",)
    readonly_fields = ("data", "version", "updated_at")
