from typing import Any

from rest_framework import serializers

from apps.review.models import ReviewItem, ReviewLabel, ReviewSettings
from apps.review.services.queue import MAX_BATCH, QueueEntry
from ml.mlops.agreement import AgreementReport, Kappa


class ReviewSlotSpan(serializers.Serializer[dict[str, Any]]):
    slot = serializers.CharField(max_length=41)
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=1)


class LabelInput(serializers.Serializer[ReviewLabel]):
    intent = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    out_of_scope = serializers.BooleanField(required=False, default=False)
    slots = ReviewSlotSpan(many=True, required=False, default=list)


class ItemOutput(serializers.ModelSerializer[ReviewItem]):
    # Plain strings: the values are documented on the models (no enum components to collide).
    status = serializers.CharField()
    final_source = serializers.CharField()

    class Meta:
        model = ReviewItem
        fields = [
            "id",
            "text",
            "reasons",
            "route",
            "predicted_intent",
            "suggestions",
            "predicted_slots",
            "uncertainty",
            "cluster",
            "labels_required",
            "status",
            "final_intent",
            "final_out_of_scope",
            "final_slots",
            "final_source",
            "finalized_at",
            "turn_at",
        ]


class LabelOutput(serializers.ModelSerializer[ReviewLabel]):
    labeller = serializers.CharField(source="labeller.username")
    kind = serializers.CharField()

    class Meta:
        model = ReviewLabel
        fields = ["id", "labeller", "kind", "intent", "out_of_scope", "slots", "created_at"]


class DisputedItemOutput(ItemOutput):
    labels = LabelOutput(many=True)

    class Meta(ItemOutput.Meta):
        fields = [*ItemOutput.Meta.fields, "labels"]


class QueueInput(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_BATCH, default=10)


class QueueEntryOutput(serializers.Serializer[QueueEntry]):
    item = ItemOutput()
    priority = serializers.FloatField()
    labelled_in_cluster = serializers.IntegerField()


class QueueOutput(serializers.Serializer[Any]):
    counts = serializers.DictField(child=serializers.IntegerField())
    results = QueueEntryOutput(many=True)


class ReviewSettingsOutput(serializers.ModelSerializer[ReviewSettings]):
    class Meta:
        model = ReviewSettings
        fields = ["double_label_share", "low_confidence", "lookback_days"]


class ReviewSettingsInput(serializers.Serializer[ReviewSettings]):
    double_label_share = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    low_confidence = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    lookback_days = serializers.IntegerField(min_value=1, max_value=365, required=False)


class OutcomeInput(serializers.Serializer[Any]):
    resolved_intent = serializers.CharField(
        max_length=120, required=False, default="", allow_blank=True
    )
    bot_answer_wrong = serializers.BooleanField(required=False, default=False)


class OutcomeRecorded(serializers.Serializer[Any]):
    resolved_intent = serializers.CharField()
    bot_answer_wrong = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class OutcomeFormOutput(serializers.Serializer[Any]):
    handed_off = serializers.BooleanField()
    intents = serializers.ListField(child=serializers.CharField())
    outcome = OutcomeRecorded(allow_null=True)


class OutcomeOutput(serializers.Serializer[Any]):
    conversation_id = serializers.IntegerField()
    resolved_intent = serializers.CharField()
    bot_answer_wrong = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


def _kappa(kappa: Kappa) -> dict[str, Any]:
    return {
        "kappa": kappa.value,
        "observed": kappa.observed,
        "expected": kappa.expected,
        "items": kappa.items,
        "reason": kappa.reason,
    }


def agreement_payload(report: AgreementReport) -> dict[str, Any]:
    """The report as JSON: kappa per pair (with per-intent kappa), per labeller (flagged below
    the bar) and per intent."""
    return {
        "bar": report.bar,
        "pairs": [
            {
                "first": pair.first,
                "second": pair.second,
                **_kappa(pair.kappa),
                "per_intent": {name: _kappa(k) for name, k in pair.per_label.items()},
            }
            for pair in report.pairs
        ],
        "labellers": [
            {
                "labeller": entry.labeller,
                **_kappa(entry.kappa),
                "best_pair_kappa": entry.best,
                "flagged": entry.flagged,
            }
            for entry in report.labellers
        ],
        "intents": [{"intent": name, **_kappa(k)} for name, k in report.per_label.items()],
        "flagged": list(report.flagged),
    }
