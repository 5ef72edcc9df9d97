"""Analytics settings and the derived tables the dashboards read.

Raw data (conversations, messages, turn traces, feedback) stays where it is; these tables are
derived from it by ``services`` and can be rebuilt from it at any time
(``manage.py analytics_rebuild``):

- ``ConversationFact``: one row per conversation with what the conversation metrics need (its
  outcome, handoff, CSAT, first intent and model versions). Conversation metrics aggregate it.
- ``TurnRollup``: bot turns counted per workspace, UTC hour and dimension values (language,
  intent, route, NLU model, generator, handed off). Turn metrics aggregate it.
- ``TurnRollupCount``: the same grain, for counts keyed by a value (redactions by type,
  thumbs-down reasons).
- ``LatencyRollup``: latency histograms per stage, per hour and the same dimensions but intent
  (the dimension with most values; latency is not split by intent).
- ``TurnRollupDay``, ``TurnRollupCountDay``, ``LatencyRollupDay``: the same, per day of the
  workspace's time zone (``RollupState.day_zone``), each the sum of the hourly rows of the UTC
  hours that start in that day. The dashboards read them for the whole days of a period and the
  hourly rows for the hours left over, which gives exactly the hourly sums.
- ``ConversationRollupDay``: conversation facts summed per day of the workspace's time zone (of
  their start) and language, model versions and handed-off flag: read with the facts of the hours
  left over when no intent or route filter is set (those match any of a conversation's turns).

The metric definitions are in ``metrics``.
"""

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.accounts.models import Workspace
from apps.analytics.metrics import HANDOFF_REASONS, LATENCY_BUCKETS
from apps.chat.models import Conversation


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone.")


class AnalyticsSettings(models.Model):
    """A workspace's analytics settings (a workspace without a row gets the defaults).
    Changing a window changes outcomes: rebuild the workspace's facts afterwards."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="analytics_settings"
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # A conversation idle this long (or closed) has ended: resolved when no person took part.
    resolution_window_hours = models.PositiveIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)]
    )
    # A resolution is durable when the customer doesn't come back within this many days.
    durable_window_days = models.PositiveIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )

    class Meta:
        verbose_name_plural = "analytics settings"

    def __str__(self) -> str:
        return f"analytics settings of {self.workspace}"


class RollupState(models.Model):
    """Until when a workspace's derived tables are up to date."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    refreshed_at = models.DateTimeField()
    # The time zone the day rollups are kept in ("": none kept; not the workspace's: not read).
    day_zone = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"analytics of {self.workspace} as of {self.refreshed_at}"


class ConversationFact(models.Model):
    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, primary_key=True, related_name="analytics_fact"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    language = models.CharField(max_length=8)
    # The first turn's intent, route and model versions (the first generated answer's generator).
    intent = models.CharField(max_length=120, blank=True)
    route = models.CharField(max_length=40, blank=True)
    nlu_model = models.CharField(max_length=120, blank=True)
    generator = models.CharField(max_length=160, blank=True)
    # Every intent and route of its turns, as ",a,b," (a filter matches ",<value>,").
    intents = models.TextField(blank=True)
    routes = models.CharField(max_length=200, blank=True)
    customer_messages = models.PositiveIntegerField(default=0)
    bot_turns = models.PositiveIntegerField(default=0)
    agent_messages = models.PositiveIntegerField(default=0)
    handed_off = models.BooleanField(default=False)
    handoff_category = models.CharField(max_length=32, blank=True)
    handoff_at = models.DateTimeField(null=True, blank=True)
    agent_first_response_s = models.FloatField(null=True, blank=True)
    handoff_to_close_s = models.FloatField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    settled = models.BooleanField(default=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    resolved = models.BooleanField(default=False)
    reopened = models.BooleanField(default=False)
    durable_known = models.BooleanField(default=False)
    durable = models.BooleanField(default=False)
    csat_score = models.PositiveSmallIntegerField(null=True, blank=True)
    answered_turns = models.PositiveIntegerField(default=0)
    thumbs_up = models.PositiveIntegerField(default=0)
    thumbs_down = models.PositiveIntegerField(default=0)
    recheck_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "started_at"]),
            models.Index(fields=["workspace", "recheck_at"]),
        ]

    def __str__(self) -> str:
        return f"facts of conversation {self.conversation_id}"


class _TurnDimensions(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()  # UTC, on the hour
    language = models.CharField(max_length=8)
    route = models.CharField(max_length=40, blank=True)
    nlu_model = models.CharField(max_length=120, blank=True)
    generator = models.CharField(max_length=160, blank=True)
    handed_off = models.BooleanField(default=False)

    class Meta:
        abstract = True


class TurnRollup(_TurnDimensions):
    intent = models.CharField(max_length=120, blank=True)
    turns = models.PositiveIntegerField(default=0)
    oos = models.PositiveIntegerField(default=0)
    clarify = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    thumbs_up = models.PositiveIntegerField(default=0)
    thumbs_down = models.PositiveIntegerField(default=0)
    thumbs_down_answered = models.PositiveIntegerField(default=0)
    knowledge = models.PositiveIntegerField(default=0)
    path_vllm = models.PositiveIntegerField(default=0)
    path_transformers = models.PositiveIntegerField(default=0)
    path_extractive = models.PositiveIntegerField(default=0)
    path_not_found = models.PositiveIntegerField(default=0)
    generated = models.PositiveIntegerField(default=0)
    fallback = models.PositiveIntegerField(default=0)
    guard_blocked = models.PositiveIntegerField(default=0)
    injection_flagged = models.PositiveIntegerField(default=0)
    injection_refused = models.PositiveIntegerField(default=0)
    injection_handoff = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "hour"])]

    def __str__(self) -> str:
        return f"{self.turns} turns at {self.hour:%Y-%m-%d %H}h"


class TurnRollupCount(_TurnDimensions):
    class Kind(models.TextChoices):
        REDACTION = "redaction", "Redacted values of a type"
        DOWN_REASON = "down_reason", "Thumbs-down with a reason"

    intent = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=100)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "kind", "hour"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.count}"


class LatencyRollup(_TurnDimensions):
    stage = models.CharField(max_length=40)
    # Bucket counts b00..b50 (``metrics.LATENCY_EDGES_MS``), added below.

    class Meta:
        indexes = [models.Index(fields=["workspace", "hour"])]

    def __str__(self) -> str:
        return f"{self.stage} latency at {self.hour:%Y-%m-%d %H}h"


LATENCY_FIELDS = [f"b{index:02d}" for index in range(LATENCY_BUCKETS)]
for _name in LATENCY_FIELDS:
    LatencyRollup.add_to_class(_name, models.PositiveIntegerField(default=0))

# The counters of ``TurnRollup`` (summed by the dashboards, and into the day rollups).
TURN_FIELDS = [
    f.name for f in TurnRollup._meta.concrete_fields if isinstance(f, models.PositiveIntegerField)
]


class _DayDimensions(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # The start of the day in the workspace's time zone (``RollupState.day_zone``), an instant.
    day = models.DateTimeField()
    language = models.CharField(max_length=8)
    route = models.CharField(max_length=40, blank=True)
    nlu_model = models.CharField(max_length=120, blank=True)
    generator = models.CharField(max_length=160, blank=True)
    handed_off = models.BooleanField(default=False)

    class Meta:
        abstract = True


class TurnRollupDay(_DayDimensions):
    intent = models.CharField(max_length=120, blank=True)
    # The counters of ``TURN_FIELDS``, added below.

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"])]

    def __str__(self) -> str:
        return f"turns of {self.day:%Y-%m-%d}"


class TurnRollupCountDay(_DayDimensions):
    intent = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=16, choices=TurnRollupCount.Kind.choices)
    key = models.CharField(max_length=100)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.count}"


class LatencyRollupDay(_DayDimensions):
    stage = models.CharField(max_length=40)

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"])]

    def __str__(self) -> str:
        return f"{self.stage} latency of {self.day:%Y-%m-%d}"


# The sums of conversation facts kept per day (``selectors.dashboard.fact_sums``).
FACT_FIELDS = [
    "conversations",
    "customer_messages",
    "settled",
    "resolved",
    "durable_known",
    "durable",
    "handed_off",
    *(f"handoff_{reason}" for reason in HANDOFF_REASONS),
    "csat_responses",
    "csat_satisfied",
    "csat_sum",
    "csat_squares",
]


class ConversationRollupDay(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # The start of the day of the conversations' start (``RollupState.day_zone``), an instant.
    day = models.DateTimeField()
    language = models.CharField(max_length=8)
    nlu_model = models.CharField(max_length=120, blank=True)
    generator = models.CharField(max_length=160, blank=True)
    # The handed-off flag (``handed_off`` is the count of handed-off conversations).
    is_handed_off = models.BooleanField(default=False)
    # The sums of ``FACT_FIELDS``, added below.

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"])]

    def __str__(self) -> str:
        return f"conversations of {self.day:%Y-%m-%d}"


for _name in FACT_FIELDS:
    ConversationRollupDay.add_to_class(_name, models.PositiveBigIntegerField(default=0))
for _name in TURN_FIELDS:
    TurnRollupDay.add_to_class(_name, models.PositiveIntegerField(default=0))
for _name in LATENCY_FIELDS:
    LatencyRollupDay.add_to_class(_name, models.PositiveIntegerField(default=0))
