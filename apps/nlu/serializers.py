from rest_framework import serializers

from apps.nlu.models import Intent, TrainingExample, TrainingRun


class IntentInput(serializers.Serializer[Intent]):
    name = serializers.SlugField(max_length=80)
    description = serializers.CharField(max_length=300, required=False, default="")


class IntentOutput(serializers.ModelSerializer[Intent]):
    example_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Intent
        fields = ["id", "name", "description", "example_count", "created_at"]


class SlotSpanField(serializers.Serializer[dict[str, object]]):
    slot = serializers.CharField(max_length=40)
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=1)


class ExampleInput(serializers.Serializer[TrainingExample]):
    text = serializers.CharField(max_length=1000)
    intent = serializers.SlugField(max_length=80, required=False, allow_null=True, default=None)
    slots = SlotSpanField(many=True, required=False, default=list)
    sentiment = serializers.ChoiceField(
        choices=["", "neutral", "negative"], required=False, default=""
    )


class ExampleOutput(serializers.ModelSerializer[TrainingExample]):
    intent = serializers.CharField(
        source="intent.name", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = TrainingExample
        fields = ["id", "text", "intent", "slots", "sentiment", "source", "created_at"]


class RunOutput(serializers.ModelSerializer[TrainingRun]):
    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "status",
            "is_active",
            "examples",
            "intents",
            "metrics",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
