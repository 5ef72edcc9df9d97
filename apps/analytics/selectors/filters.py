"""The analyst's filters and buckets, and the querysets of the derived tables they select."""

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

from apps.accounts.models import Workspace
from apps.analytics.models import (
    AnalyticsSettings,
    ConversationFact,
    LatencyRollup,
    RollupState,
    TurnRollup,
    TurnRollupCount,
)
from apps.core.exceptions import ApplicationError

BUCKETS = ("hour", "day", "week", "month")
MAX_BUCKETS = 2500


@dataclass(frozen=True)
class Filters:
    """A period [start, end) and the dimension filters ("" or None: any)."""

    start: datetime
    end: datetime
    language: str = ""
    intent: str = ""
    route: str = ""
    nlu_model: str = ""
    generator: str = ""
    handed_off: bool | None = None

    def previous(self) -> "Filters":
        """The period of the same length just before this one."""
        return replace(self, start=self.start - (self.end - self.start), end=self.start)

    def to_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "language": self.language,
            "intent": self.intent,
            "route": self.route,
            "nlu_model": self.nlu_model,
            "generator": self.generator,
            "handed_off": self.handed_off,
        }


def analytics_settings_get(*, workspace: Workspace) -> AnalyticsSettings:
    """The workspace's settings, or the defaults (unsaved) when it has none."""
    return AnalyticsSettings.objects.filter(workspace=workspace).first() or AnalyticsSettings(
        workspace=workspace
    )


def workspace_zone(*, workspace: Workspace) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(analytics_settings_get(workspace=workspace).time_zone)


def fact_list(*, workspace: Workspace, filters: Filters) -> QuerySet[ConversationFact]:
    """Conversation facts of the period that match the filters."""
    rows = ConversationFact.objects.filter(
        workspace=workspace, started_at__gte=filters.start, started_at__lt=filters.end
    )
    if filters.language:
        rows = rows.filter(language=filters.language)
    if filters.intent:
        rows = rows.filter(intents__contains=f",{filters.intent},")
    if filters.route:
        rows = rows.filter(routes__contains=f",{filters.route},")
    if filters.nlu_model:
        rows = rows.filter(nlu_model=filters.nlu_model)
    if filters.generator:
        rows = rows.filter(generator=filters.generator)
    if filters.handed_off is not None:
        rows = rows.filter(handed_off=filters.handed_off)
    return rows


def turn_dimensions(filters: Filters, *, with_intent: bool = True) -> Q:
    """The rollups' dimension filter (latency has no intent dimension)."""
    return Q(hour__gte=filters.start, hour__lt=filters.end) & dimension_filter(
        filters, with_intent=with_intent
    )


def dimension_filter(filters: Filters, *, with_intent: bool = True) -> Q:
    """The rollups' filter on their dimensions, hourly or daily (not on the time)."""
    condition = Q()
    for name in ("language", "route", "nlu_model", "generator"):
        if value := getattr(filters, name):
            condition &= Q(**{name: value})
    if with_intent and filters.intent:
        condition &= Q(intent=filters.intent)
    if filters.handed_off is not None:
        condition &= Q(handed_off=filters.handed_off)
    return condition


def rollup_list(*, workspace: Workspace, filters: Filters) -> QuerySet[TurnRollup]:
    return TurnRollup.objects.filter(turn_dimensions(filters), workspace=workspace)


def rollup_count_list(*, workspace: Workspace, filters: Filters) -> QuerySet[TurnRollupCount]:
    return TurnRollupCount.objects.filter(turn_dimensions(filters), workspace=workspace)


def latency_list(*, workspace: Workspace, filters: Filters) -> QuerySet[LatencyRollup]:
    return LatencyRollup.objects.filter(
        turn_dimensions(filters, with_intent=False), workspace=workspace
    )


@dataclass(frozen=True)
class RollupSpan:
    """Which rollup rows make up a period [start, end): the day rows of the days starting in
    [days_start, days_end), and the hourly rows of the hours in ``hours`` (the rest)."""

    hours: tuple[tuple[datetime, datetime], ...]
    days: tuple[datetime, datetime] | None


def rollup_span(filters: Filters, zone: zoneinfo.ZoneInfo | None) -> RollupSpan:
    """The whole days of ``zone`` inside the period from the day rollups, the hours before the
    first and after the last from the hourly ones (``zone`` None: hourly rows only). An hour is
    in a day row when it starts in the day, so both give exactly the hourly sums."""
    if zone is not None:
        first = bucket_floor(filters.start, "day", zone)
        if first < filters.start:
            first = bucket_next(first, "day", zone)
        last = bucket_floor(filters.end, "day", zone)
        if first < last:
            hours = ((filters.start, first), (last, filters.end))
            return RollupSpan(tuple((a, b) for a, b in hours if a < b), (first, last))
    return RollupSpan(((filters.start, filters.end),), None)


def day_rollup_zone(*, workspace: Workspace) -> zoneinfo.ZoneInfo | None:
    """The workspace's time zone when its day rollups are kept in it, else None."""
    zone = workspace_zone(workspace=workspace)
    kept = RollupState.objects.filter(workspace=workspace).values_list("day_zone", flat=True)
    return zone if list(kept) == [str(zone)] else None


def bucket_floor(at: datetime, bucket: str, zone: zoneinfo.ZoneInfo) -> datetime:
    """The start of the bucket holding ``at``, in the zone (an aware datetime)."""
    local = at.astimezone(zone)
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if bucket == "week":
        day -= timedelta(days=day.weekday())
    elif bucket == "month":
        day = day.replace(day=1)
    return day.replace(tzinfo=zone)


def bucket_next(start: datetime, bucket: str, zone: zoneinfo.ZoneInfo) -> datetime:
    """The start of the bucket after the one starting at ``start``."""
    if bucket == "hour":
        return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    naive = start.astimezone(zone).replace(tzinfo=None)
    if bucket == "day":
        naive += timedelta(days=1)
    elif bucket == "week":
        naive += timedelta(days=7)
    else:
        naive = naive.replace(
            year=naive.year + naive.month // 12, month=naive.month % 12 + 1, day=1
        )
    return naive.replace(tzinfo=zone)


def bucket_starts(filters: Filters, bucket: str, zone: zoneinfo.ZoneInfo) -> Iterator[datetime]:
    """Every bucket that overlaps the period, empty ones included, in order."""
    if bucket not in BUCKETS:
        raise ApplicationError(f"bucket must be one of {', '.join(BUCKETS)}.")
    cursor = bucket_floor(filters.start, bucket, zone)
    for _ in range(MAX_BUCKETS):
        if cursor >= filters.end:
            return
        yield cursor
        cursor = bucket_next(cursor, bucket, zone)
    raise ApplicationError(f"More than {MAX_BUCKETS} buckets: choose a longer bucket.")
