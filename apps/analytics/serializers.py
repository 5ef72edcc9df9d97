"""Inputs (the analyst's filters) and outputs of the analytics API."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from apps.accounts.models import Workspace
from apps.analytics import metrics
from apps.analytics.models import AnalyticsSettings, ConversationFact
from apps.analytics.selectors.drilldown import SIDES
from apps.analytics.selectors.filters import BUCKETS, Filters, workspace_zone

DEFAULT_DAYS = 30
MAX_DAYS = 400

FILTER_PARAMETERS = [
    OpenApiParameter(
        "start",
        str,
        description="Start of the period: an ISO date (midnight in the workspace's time zone) "
        "or date-time; rounded down to the hour. Default: 30 days before the end.",
    ),
    OpenApiParameter(
        "end",
        str,
        description="End of the period (excluded): an ISO date (that whole day included) or "
        "date-time; rounded down to the hour. Default: the end of the current hour.",
    ),
    OpenApiParameter("language", str, description="The conversation's language (en, zh...)."),
    OpenApiParameter("intent", str, description="Turns of this intent; conversations with one."),
    OpenApiParameter("route", str, description="Turns of this route; conversations with one."),
    OpenApiParameter("nlu_model", str, description="NLU model version (``nlu.model``)."),
    OpenApiParameter("generator", str, description="Generator version, ``engine:adapter``."),
    OpenApiParameter("handed_off", bool, description="Only handed-off (or never handed-off)."),
]
BUCKET_PARAMETER = OpenApiParameter(
    "bucket", str, enum=list(BUCKETS), description="Bucket size (default day)."
)
METRIC_PARAMETER = OpenApiParameter(
    "metric",
    str,
    required=True,
    description="A metric of ``apps.analytics.metrics`` (e.g. automated_resolution, "
    "handoff_sensitive_intent, clarify, thumbs_down) or latency_<stage> (latency_total).",
)
DRILLDOWN_PARAMETERS = [
    METRIC_PARAMETER,
    OpenApiParameter(
        "side",
        str,
        enum=list(SIDES),
        description="numerator: what the metric counted; denominator: what it counted among; "
        "rest: the denominator without the numerator. Default numerator.",
    ),
    BUCKET_PARAMETER,
    OpenApiParameter(
        "bucket_start", str, description="Only this bucket of the series (its start, ISO)."
    ),
]


def _moment(value: str, zone: Any, *, end: bool) -> datetime:
    day: date | None = parse_date(value) if len(value) == 10 else None
    if day is not None:
        moment = datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=zone)
        return moment
    parsed = parse_datetime(value)
    if parsed is None:
        raise serializers.ValidationError("Expected an ISO date or date-time.")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=zone)


def _on_the_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class FilterInput(serializers.Serializer[Any]):
    start = serializers.CharField(required=False, max_length=40)
    end = serializers.CharField(required=False, max_length=40)
    language = serializers.CharField(required=False, max_length=8)
    intent = serializers.CharField(required=False, max_length=120)
    route = serializers.CharField(required=False, max_length=40)
    nlu_model = serializers.CharField(required=False, max_length=120)
    generator = serializers.CharField(required=False, max_length=160)
    handed_off = serializers.BooleanField(required=False, allow_null=True, default=None)

    def filters(self, workspace: Workspace) -> Filters:
        self.is_valid(raise_exception=True)
        data = self.validated_data
        zone = workspace_zone(workspace=workspace)
        try:
            end = (
                _moment(data["end"], zone, end=True)
                if data.get("end")
                else timezone.now() + timedelta(hours=1)
            )
            start = (
                _moment(data["start"], zone, end=False)
                if data.get("start")
                else end - timedelta(days=DEFAULT_DAYS)
            )
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"start": error.detail}) from error
        start, end = _on_the_hour(start), _on_the_hour(end)
        if start >= end:
            raise serializers.ValidationError({"end": "The end must come after the start."})
        if end - start > timedelta(days=MAX_DAYS):
            raise serializers.ValidationError({"start": f"A period is at most {MAX_DAYS} days."})
        return Filters(
            start=start,
            end=end,
            language=data.get("language", ""),
            intent=data.get("intent", ""),
            route=data.get("route", ""),
            nlu_model=data.get("nlu_model", ""),
            generator=data.get("generator", ""),
            handed_off=data.get("handed_off"),
        )


class BucketInput(serializers.Serializer[Any]):
    bucket = serializers.ChoiceField(choices=list(BUCKETS), default="day")


class MetricInput(BucketInput):
    metric = serializers.CharField(max_length=80)

    def validate_metric(self, value: str) -> str:
        if metrics.metric_level(value) is None:
            raise serializers.ValidationError("No such metric.")
        return value


class DrilldownInput(MetricInput):
    side = serializers.ChoiceField(choices=list(SIDES), default="numerator")
    bucket_start = serializers.DateTimeField(required=False)


class ConversationRowOutput(serializers.ModelSerializer[ConversationFact]):
    status = serializers.CharField(source="conversation.status")

    class Meta:
        model = ConversationFact
        fields = (
            "conversation_id",
            "status",
            "started_at",
            "language",
            "intent",
            "route",
            "nlu_model",
            "generator",
            "customer_messages",
            "bot_turns",
            "handed_off",
            "handoff_category",
            "settled",
            "resolved",
            "reopened",
            "durable",
            "csat_score",
            "thumbs_down",
        )


class SettingsOutput(serializers.ModelSerializer[AnalyticsSettings]):
    class Meta:
        model = AnalyticsSettings
        fields = ("time_zone", "resolution_window_hours", "durable_window_days")
