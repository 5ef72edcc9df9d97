from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.mlops.models import Decision, Kind, ModelVersion


@extend_schema_field(OpenApiTypes.STR)
class KindField(serializers.ChoiceField):
    """``nlu`` or ``adapter``: a string in the schema (an enum there would share the name
    ``kind`` with the knowledge base's article kinds)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("help_text", "nlu (an NLU model) or adapter (a generator adapter)")
        super().__init__(choices=Kind.choices, **kwargs)  # type: ignore[arg-type]


class VersionOutput(serializers.ModelSerializer[ModelVersion]):
    kind = KindField(read_only=True)
    triggered_by = serializers.CharField(
        source="triggered_by.username", default=None, allow_null=True, read_only=True
    )
    parent_number = serializers.IntegerField(
        source="parent.number", default=None, allow_null=True, read_only=True
    )
    training_run = serializers.IntegerField(
        source="training_run_id", allow_null=True, read_only=True
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "kind",
            "number",
            "state",
            "training_run",
            "evaluation",
            "gate_result",
            "data_snapshot",
            "parent_number",
            "trigger",
            "triggered_by",
            "canary_share",
            "created_at",
            "state_changed_at",
            "canary_started_at",
            "promoted_at",
            "retired_at",
        ]


class VersionDetailOutput(VersionOutput):
    class Meta(VersionOutput.Meta):
        fields = [*VersionOutput.Meta.fields, "manifest"]


class DecisionOutput(serializers.ModelSerializer[Decision]):
    kind = KindField(read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    version_id = serializers.IntegerField(read_only=True)
    replaced = serializers.IntegerField(
        source="replaced.number", default=None, allow_null=True, read_only=True
    )
    user = serializers.CharField(source="user.username", default=None, allow_null=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "kind",
            "action",
            "version",
            "version_id",
            "replaced",
            "decider",
            "user",
            "reason",
            "numbers",
            "created_at",
        ]


class ReasonInput(serializers.Serializer[dict[str, str]]):
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class RollBackInput(ReasonInput):
    kind = KindField()


class CanaryInput(ReasonInput):
    share = serializers.FloatField(min_value=0.01, max_value=1.0, required=False, allow_null=True)
