"""The day rollups give exactly the numbers of the hourly ones: for a period of whole local days
(read from day rows only), for a period that isn't (day rows for its whole days, hourly rows for
the hours left over), in a zone whose offset is not whole hours, and after a refresh or a change
of time zone (the day rows are not read until they are rebuilt in the new zone)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.analytics.models import (
    FACT_FIELDS,
    ConversationRollupDay,
    LatencyRollup,
    LatencyRollupDay,
    RollupState,
    TurnRollup,
    TurnRollupCount,
    TurnRollupCountDay,
    TurnRollupDay,
)
from apps.analytics.selectors.dashboard import FACT_SUMS
from apps.analytics.selectors.filters import Filters, day_rollup_zone, rollup_span
from apps.analytics.services import analytics_rebuild, analytics_refresh
from tests.apps.analytics.conftest import NOW, Builder, Built

pytestmark = pytest.mark.django_db

ALIGNED = {"start": "2025-03-03", "end": "2025-03-09"}  # whole Shanghai days
NOT_ALIGNED = {"start": "2025-03-03T09:00:00+08:00", "end": "2025-03-08T22:00:00+08:00"}
CALLS = (
    ("summary/", {}),
    ("summary/", {"intent": "card_pin"}),
    ("summary/", {"handed_off": "false", "language": "en"}),
    ("intents/", {"bucket": "day"}),
    ("intents/", {"bucket": "week"}),
    ("intents/", {"bucket": "hour"}),
    ("models/", {}),
)


@pytest.fixture
def client(scenario: Built, analyst_of: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(analyst_of(scenario.workspace))
    return api


def answers(client: APIClient, period: dict[str, str]) -> list[Any]:
    out = []
    for path, params in CALLS:
        response = client.get(f"/api/v1/workspaces/acme/analytics/{path}", {**period, **params})
        assert response.status_code == 200, response.content
        out.append(response.json())
    return out


def hourly_only(workspace: Any) -> None:
    """Makes the dashboards read the hourly rows only (as with day rows kept in another zone)."""
    RollupState.objects.filter(workspace=workspace).update(day_zone="")


def test_whole_days_are_read_from_day_rows_with_the_hourly_numbers(
    client: APIClient, scenario: Built
) -> None:
    workspace = scenario.workspace
    zone = day_rollup_zone(workspace=workspace)
    assert str(zone) == "Asia/Shanghai"
    start, end = datetime(2025, 3, 2, 16, tzinfo=UTC), datetime(2025, 3, 9, 16, tzinfo=UTC)
    for period in (Filters(start=start, end=end), Filters(start=start, end=end).previous()):
        span = rollup_span(period, zone)
        assert span.hours == ()
        assert span.days == (period.start, period.end)
    assert TurnRollupDay.objects.filter(workspace=workspace).exists()
    assert LatencyRollupDay.objects.filter(workspace=workspace).exists()
    assert TurnRollupCountDay.objects.filter(workspace=workspace).exists()
    assert ConversationRollupDay.objects.filter(workspace=workspace).exists()
    assert list(FACT_SUMS) == FACT_FIELDS

    with_days = answers(client, ALIGNED)
    hourly_only(workspace)
    with_hours = answers(client, ALIGNED)
    assert with_days == with_hours
    assert with_days[0]["metrics"]["turns"]["current"]["value"] > 0
    assert with_days[0]["redactions"]
    assert with_days[0]["latency"]

    # Without the hourly rows, a period of whole days still has every number but the hourly
    # trend: it is read from the day rows.
    analytics_rebuild(workspace=workspace, now=NOW)
    for model in (TurnRollup, TurnRollupCount, LatencyRollup):
        model.objects.filter(workspace=workspace).delete()
    days_only = answers(client, ALIGNED)
    hour_trend = CALLS.index(("intents/", {"bucket": "hour"}))
    for index, (expected, got) in enumerate(zip(with_hours, days_only, strict=True)):
        if index != hour_trend:
            assert got == expected, CALLS[index]


def test_a_period_of_part_days_adds_the_hours_left_over(client: APIClient, scenario: Built) -> None:
    workspace = scenario.workspace
    zone = day_rollup_zone(workspace=workspace)
    period = Filters(
        start=datetime(2025, 3, 3, 1, tzinfo=UTC), end=datetime(2025, 3, 8, 14, tzinfo=UTC)
    )
    span = rollup_span(period, zone)
    first, last = datetime(2025, 3, 3, 16, tzinfo=UTC), datetime(2025, 3, 7, 16, tzinfo=UTC)
    assert span.days == (first, last)
    assert span.hours == ((period.start, first), (last, period.end))
    for hours in span.hours:  # turns in both parts left over
        assert TurnRollup.objects.filter(
            workspace=workspace, hour__gte=hours[0], hour__lt=hours[1]
        ).exists()
    # Shorter than a day: hourly rows only.
    short = Filters(start=period.start, end=period.start + timedelta(hours=20))
    assert rollup_span(short, zone).days is None

    mixed = answers(client, NOT_ALIGNED)
    short_period = {"start": "2025-03-04T13:00:00+08:00", "end": "2025-03-05T09:00:00+08:00"}
    short_answers = answers(client, short_period)
    hourly_only(workspace)
    assert mixed == answers(client, NOT_ALIGNED)
    assert short_answers == answers(client, short_period)
    assert mixed[0]["metrics"]["turns"]["current"]["value"] > 0


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York", "UTC"])
def test_other_zones_give_the_hourly_numbers(client: APIClient, scenario: Built, zone: str) -> None:
    """Kolkata's days start on the half hour (an hour goes to the day it starts in, and a
    period, rounded to the hour, never is whole days); New York's include a DST change."""
    workspace = scenario.workspace
    workspace.analytics_settings.time_zone = zone
    workspace.analytics_settings.save()
    assert day_rollup_zone(workspace=workspace) is None  # kept in Shanghai's days until rebuilt
    analytics_refresh(workspace=workspace, now=NOW)
    assert str(day_rollup_zone(workspace=workspace)) == zone
    periods = (
        ALIGNED,
        NOT_ALIGNED,
        {"start": "2025-02-20", "end": "2025-03-12"},  # over 9 March, New York's DST change
    )
    with_days = [answers(client, period) for period in periods]
    hourly_only(workspace)
    assert with_days == [answers(client, period) for period in periods]


def test_a_refresh_keeps_the_day_rows_of_a_rebuild(scenario: Built) -> None:
    workspace = scenario.workspace
    b = Builder(workspace)
    c1 = scenario.conversations["c1"]
    b.turn(c1, NOW + timedelta(hours=1), intent="card_pin", engine="vllm", adapter="acme@1")
    b.turn(c1, NOW - timedelta(days=3), intent="card_pin", route="clarify")
    new = b.conversation(NOW + timedelta(minutes=30))
    b.message(new, "customer", NOW + timedelta(minutes=30))
    b.turn(new, NOW + timedelta(minutes=30), intent="card_pin")
    analytics_refresh(workspace=workspace, now=NOW + timedelta(hours=2))

    def rows() -> list[list[dict[str, Any]]]:
        return [
            sorted(
                (
                    {k: v for k, v in row.items() if k != "id"}
                    for row in model.objects.filter(workspace=workspace).values()
                ),
                key=repr,
            )
            for model in (
                TurnRollupDay,
                TurnRollupCountDay,
                LatencyRollupDay,
                ConversationRollupDay,
            )
        ]

    refreshed = rows()
    analytics_rebuild(workspace=workspace, now=NOW + timedelta(hours=2))
    assert refreshed == rows()
