"""The dashboards' numbers: every metric of ``metrics`` for a period and its previous period,
as a series of buckets, per intent and per model version. Read from the derived tables only
(``ConversationFact`` and the rollups), never from the raw ones: the summary, intents and models
read the day rollups for the whole days of a period and the hourly ones for the hours left over
(``filters.rollup_span``), one query per table for both periods."""

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, F, Model, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncHour

from apps.accounts.models import Workspace
from apps.analytics import metrics
from apps.analytics.models import (
    LATENCY_FIELDS,
    TURN_FIELDS,
    ConversationFact,
    ConversationRollupDay,
    LatencyRollup,
    LatencyRollupDay,
    TurnRollup,
    TurnRollupCount,
    TurnRollupCountDay,
    TurnRollupDay,
)
from apps.analytics.selectors.filters import (
    Filters,
    bucket_floor,
    bucket_next,
    bucket_starts,
    day_rollup_zone,
    dimension_filter,
    fact_list,
    latency_list,
    rollup_list,
    rollup_span,
    workspace_zone,
)
from apps.core.exceptions import ApplicationError

Sums = dict[str, float]


def fact_sums(where: Q | None = None) -> dict[str, Any]:
    """The sums over conversation facts the conversation metrics read (of the facts matching
    ``where``, when given)."""

    def count(condition: Q | None = None) -> Count:
        both = [c for c in (condition, where) if c is not None]
        return Count(
            "pk", filter=both[0] & both[1] if len(both) == 2 else both[0] if both else None
        )

    return {
        "conversations": count(),
        "customer_messages": Coalesce(Sum("customer_messages", filter=where), 0),
        "settled": count(Q(settled=True)),
        "resolved": count(Q(resolved=True)),
        "durable_known": count(Q(durable_known=True)),
        "durable": count(Q(durable=True)),
        "handed_off": count(Q(handed_off=True)),
        **{
            f"handoff_{reason}": count(Q(handoff_category=reason))
            for reason in metrics.HANDOFF_REASONS
        },
        "csat_responses": count(Q(csat_score__isnull=False)),
        "csat_satisfied": count(Q(csat_score__gte=4)),
        "csat_sum": Coalesce(Sum("csat_score", filter=where), 0),
        "csat_squares": Coalesce(Sum(F("csat_score") * F("csat_score"), filter=where), 0),
    }


FACT_SUMS = fact_sums()
TURN_SUMS: dict[str, Any] = {name: Coalesce(Sum(name), 0) for name in metrics.TURN_SUMS}
LATENCY_SUMS: dict[str, Any] = {name: Coalesce(Sum(name), 0) for name in LATENCY_FIELDS}
DURATION_FIELDS = {
    "agent_first_response": "agent_first_response_s",
    "handoff_to_close": "handoff_to_close_s",
}
REASONS_SHOWN = 10


def _grouped(rows: QuerySet[Any], by: str | None, sums: dict[str, Any]) -> dict[Hashable, Sums]:
    """``sums`` per value of ``by`` (per UTC hour when ``by`` is "hour" on the facts)."""
    if by is None:
        return {None: rows.aggregate(**sums)}
    if by == "started_hour":
        rows = rows.annotate(started_hour=TruncHour("started_at", tzinfo=UTC))
    return {row.pop(by): row for row in rows.order_by().values(by).annotate(**sums)}


def _durations(
    facts: QuerySet[ConversationFact], by: str | None
) -> dict[str, dict[Hashable, list[float]]]:
    out: dict[str, dict[Hashable, list[float]]] = {}
    for name, field in DURATION_FIELDS.items():
        values: dict[Hashable, list[float]] = defaultdict(list)
        group = "started_at" if by == "started_hour" else by
        for key, value in facts.filter(**{f"{field}__isnull": False}).values_list(
            group or "pk", field
        ):
            if by == "started_hour":
                key = key.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            values[key if by else None].append(value)
        out[name] = values
    return out


def conversation_values(sums: Sums, durations: dict[str, list[float]]) -> dict[str, Any]:
    """Every conversation metric from the fact sums (and the durations behind the two
    duration metrics)."""
    values: dict[str, Any] = {
        name: {"value": int(sums[name])} for name in metrics.CONVERSATION_COUNTS
    }
    for name, (numerator, denominator) in metrics.CONVERSATION_RATES.items():
        values[name] = metrics.Rate(int(sums[numerator]), int(sums[denominator])).to_json()
    values["csat_mean"] = metrics.mean_from_sums(
        sums["csat_sum"], sums["csat_squares"], int(sums["csat_responses"])
    )
    for name in metrics.CONVERSATION_DURATIONS:
        values[name] = metrics.durations(durations.get(name, []))
    return values


def turn_values(sums: Sums) -> dict[str, Any]:
    values: dict[str, Any] = {name: {"value": int(sums[name])} for name in metrics.TURN_COUNTS}
    for name, (numerator, denominator) in metrics.TURN_RATES.items():
        values[name] = metrics.Rate(int(sums[numerator]), int(sums[denominator])).to_json()
    return values


def latency_values(histogram: Iterable[int]) -> dict[str, Any]:
    counts = list(histogram)
    return {
        "n": sum(counts),
        **{
            f"p{round(q * 100)}": metrics.histogram_percentile(counts, q)
            for q in metrics.PERCENTILES
        },
    }


def _empty_fact_sums() -> Sums:
    return dict.fromkeys(FACT_SUMS, 0)


def _empty_turn_sums() -> Sums:
    return dict.fromkeys(metrics.TURN_SUMS, 0)


def _add(total: Sums, part: Sums) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0) + (value or 0)


def _histograms(rows: QuerySet[Any], by: tuple[str, ...]) -> dict[tuple[Any, ...], list[int]]:
    return {
        tuple(row[name] for name in by): [row[field] for field in LATENCY_FIELDS]
        for row in rows.order_by().values(*by).annotate(**LATENCY_SUMS)
    }


# --- rollup sums over periods: day rows for the whole days, hourly rows for the rest ----------

# table: (hourly model, day model, counters, has an intent dimension)
ROLLUP_TABLES: dict[str, tuple[type[Model], type[Model], tuple[str, ...], bool]] = {
    "turn": (TurnRollup, TurnRollupDay, tuple(TURN_FIELDS), True),
    "count": (TurnRollupCount, TurnRollupCountDay, ("count",), True),
    "latency": (LatencyRollup, LatencyRollupDay, tuple(LATENCY_FIELDS), False),
}


def _time_range(field: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def rollup_sums(
    *,
    workspace: Workspace,
    table: str,
    periods: list[Filters],
    by: tuple[str, ...] = (),
    where: Q | None = None,
    days: bool = True,
) -> list[dict[tuple[Any, ...], Sums]]:
    """For each period (same dimension filters, other times), the table's counters summed per
    value of ``by`` ("at": the row's hour or day): at most one query on the day rows, for the
    periods' whole days of the workspace's time zone, and one on the hourly rows, for the hours
    left over (``days`` False: hourly rows only). Ungrouped, every period has its one (maybe
    zero) entry; grouped, only the values with rows in the period."""
    hourly, daily, fields, with_intent = ROLLUP_TABLES[table]
    zone = day_rollup_zone(workspace=workspace) if days else None
    spans = [rollup_span(period, zone) for period in periods]
    out: list[dict[tuple[Any, ...], Sums]] = [
        {(): dict.fromkeys(fields, 0)} if not by else {} for _ in periods
    ]
    dimensions = dimension_filter(periods[0], with_intent=with_intent)
    if where is not None:
        dimensions &= where
    parts: list[tuple[type[Model], str, list[Q | None]]] = [
        (hourly, "hour", [_any(_time_range("hour", a, b) for a, b in s.hours) for s in spans]),
        (
            daily,
            "day",
            [_time_range("day", *s.days) if s.days else None for s in spans],
        ),
    ]
    for model, time_field, conditions in parts:
        if all(c is None for c in conditions):
            continue
        aggregates: dict[str, Any] = {}
        for index, condition in enumerate(conditions):
            if condition is not None:
                aggregates[f"p{index}__rows"] = Count("pk", filter=condition)
                for name in fields:
                    aggregates[f"p{index}__{name}"] = Sum(name, filter=condition)
        rows = model._default_manager.filter(
            dimensions, _any(c for c in conditions if c is not None), workspace=workspace
        ).order_by()
        if "at" in by:
            rows = rows.annotate(at=F(time_field))
        results = (
            list(rows.values(*by).annotate(**aggregates)) if by else [rows.aggregate(**aggregates)]
        )
        for row in results:
            key = tuple(row[name] for name in by)
            for index, condition in enumerate(conditions):
                if condition is None or (by and not row[f"p{index}__rows"]):
                    continue
                total = out[index].setdefault(key, dict.fromkeys(fields, 0))
                for name in fields:
                    total[name] += row[f"p{index}__{name}"] or 0
    return out


def _any(conditions: Iterable[Q]) -> Q | None:
    combined: Q | None = None
    for condition in conditions:
        combined = condition if combined is None else combined | condition
    return combined


FACT_DAY_DIMENSIONS = {
    "language": "language",
    "nlu_model": "nlu_model",
    "generator": "generator",
    "handed_off": "is_handed_off",
}


def fact_sums_by_period(
    *, workspace: Workspace, periods: list[Filters], by: tuple[str, ...] = ()
) -> list[dict[tuple[Any, ...], Sums]]:
    """``FACT_SUMS`` of each period (contiguous periods, the same dimension filters) per value
    of ``by``: the conversation day rollups for the whole days of the workspace's time zone when
    no intent or route filter is set (a conversation matches those by any of its turns) and
    ``by`` is among their dimensions, the facts for the rest; one query on each. Ungrouped,
    every period has its entry; grouped, only the values with conversations in the period."""
    first = periods[0]
    days = not first.intent and not first.route and set(by) <= set(FACT_DAY_DIMENSIONS)
    zone = day_rollup_zone(workspace=workspace) if days else None
    spans = [rollup_span(period, zone) for period in periods]
    out: list[dict[tuple[Any, ...], Sums]] = [
        {(): _empty_fact_sums()} if not by else {} for _ in periods
    ]

    def add(rows: Iterable[dict[str, Any]], conditions: list[Q | None], names: list[str]) -> None:
        for row in rows:
            key = tuple(row[name] for name in names)
            for index, condition in enumerate(conditions):
                if condition is None or (by and not row[f"p{index}__conversations"]):
                    continue
                total = out[index].setdefault(key, _empty_fact_sums())
                for name in FACT_SUMS:
                    total[name] += row[f"p{index}__{name}"] or 0

    conditions = [_any(_time_range("started_at", a, b) for a, b in span.hours) for span in spans]
    if any(c is not None for c in conditions):
        whole = replace(first, start=min(p.start for p in periods), end=max(p.end for p in periods))
        facts = fact_list(workspace=workspace, filters=whole).filter(
            _any(c for c in conditions if c is not None) or Q()
        )
        aggregates: dict[str, Any] = {}
        for index, condition in enumerate(conditions):
            if condition is not None:
                aggregates |= {f"p{index}__{k}": v for k, v in fact_sums(condition).items()}
        add(
            facts.order_by().values(*by).annotate(**aggregates)
            if by
            else [facts.aggregate(**aggregates)],
            conditions,
            list(by),
        )
    day_conditions = [_time_range("day", *span.days) if span.days else None for span in spans]
    if any(c is not None for c in day_conditions):
        rows = ConversationRollupDay.objects.filter(
            _any(c for c in day_conditions if c is not None) or Q(), workspace=workspace
        )
        for name, field in FACT_DAY_DIMENSIONS.items():
            value = getattr(first, name)
            if value not in ("", None):
                rows = rows.filter(**{field: value})
        day_aggregates: dict[str, Any] = {}
        for index, condition in enumerate(day_conditions):
            if condition is not None:
                day_aggregates |= {f"p{index}__{k}": Sum(k, filter=condition) for k in FACT_SUMS}
        fields = [FACT_DAY_DIMENSIONS[name] for name in by]
        add(
            [
                {**row, **{name: row[field] for name, field in zip(by, fields, strict=True)}}
                for row in rows.order_by().values(*fields).annotate(**day_aggregates)
            ]
            if by
            else [rows.aggregate(**day_aggregates)],
            day_conditions,
            list(by),
        )
    return out


def durations_by_period(
    *, workspace: Workspace, periods: list[Filters]
) -> list[dict[str, list[float]]]:
    """The two durations of the conversations of each period (contiguous periods, the same
    dimension filters), from the facts: one query."""
    whole = replace(
        periods[0], start=min(p.start for p in periods), end=max(p.end for p in periods)
    )
    out: list[dict[str, list[float]]] = [{name: [] for name in DURATION_FIELDS} for _ in periods]
    rows = (
        fact_list(workspace=workspace, filters=whole)
        .filter(Q(agent_first_response_s__isnull=False) | Q(handoff_to_close_s__isnull=False))
        .values_list("started_at", *DURATION_FIELDS.values())
    )
    for started_at, *values in rows:
        for index, period in enumerate(periods):
            if period.start <= started_at < period.end:
                for name, value in zip(DURATION_FIELDS, values, strict=True):
                    if value is not None:
                        out[index][name].append(value)
    return out


def _periods(workspace: Workspace, periods: list[Filters]) -> list[dict[str, Any]]:
    facts = [sums[()] for sums in fact_sums_by_period(workspace=workspace, periods=periods)]
    durations = durations_by_period(workspace=workspace, periods=periods)
    turns = rollup_sums(workspace=workspace, table="turn", periods=periods)
    latency = rollup_sums(workspace=workspace, table="latency", periods=periods, by=("stage",))
    counts = rollup_sums(workspace=workspace, table="count", periods=periods, by=("kind", "key"))
    out = []
    for index in range(len(periods)):
        keyed: dict[str, dict[str, int]] = defaultdict(dict)
        for (kind, key), total in counts[index].items():
            keyed[kind][key] = int(total["count"])
        histograms = {
            stage: [int(total[name]) for name in LATENCY_FIELDS]
            for (stage,), total in latency[index].items()
        }
        out.append(
            {
                "metrics": {
                    **conversation_values(facts[index], durations[index]),
                    **turn_values(turns[index][()]),
                },
                "latency": {stage: latency_values(h) for stage, h in sorted(histograms.items())},
                "redactions": keyed[TurnRollupCount.Kind.REDACTION],
                "down_reasons": keyed[TurnRollupCount.Kind.DOWN_REASON],
            }
        )
    return out


def analytics_summary(*, workspace: Workspace, filters: Filters) -> dict[str, Any]:
    """Every metric in the period and in the previous period of the same length."""
    previous_filters = filters.previous()
    current, previous = _periods(workspace, [filters, previous_filters])
    return {
        "filters": filters.to_json(),
        "previous_period": {
            "start": previous_filters.start.isoformat(),
            "end": previous_filters.end.isoformat(),
        },
        "time_zone": str(workspace_zone(workspace=workspace)),
        "metrics": {
            name: {
                "level": metrics.metric_level(name),
                "current": value,
                "previous": previous["metrics"][name],
            }
            for name, value in current["metrics"].items()
        },
        "latency": {
            stage: {"current": value, "previous": previous["latency"].get(stage)}
            for stage, value in current["latency"].items()
        },
        "redactions": [
            {"type": kind, "current": count, "previous": previous["redactions"].get(kind, 0)}
            for kind, count in sorted(current["redactions"].items(), key=lambda i: (-i[1], i[0]))
        ],
        "thumbs_down_reasons": [
            {"reason": reason, "count": count}
            for reason, count in sorted(
                current["down_reasons"].items(), key=lambda i: (-i[1], i[0])
            )[:REASONS_SHOWN]
        ],
        # Latency has no intent dimension (see ``models.LatencyRollup``).
        "not_filtered": {"latency": ["intent"]} if filters.intent else {},
    }


# --- series -----------------------------------------------------------------------------------


def _bucketed(
    per_hour: dict[Hashable, Any],
    starts: list[datetime],
    bucket: str,
    workspace: Workspace,
    merge: Callable[[Any, Any], None],
    empty: Callable[[], Any],
) -> list[Any]:
    zone = workspace_zone(workspace=workspace)
    totals = {start: empty() for start in starts}
    for hour, value in per_hour.items():
        assert isinstance(hour, datetime)
        start = bucket_floor(hour, bucket, zone)
        if start in totals:
            merge(totals[start], value)
    return [totals[start] for start in starts]


def _merge_lists(total: list[Any], part: list[Any]) -> None:
    total.extend(part)


def _merge_histograms(total: list[int], part: list[int]) -> None:
    for index, count in enumerate(part):
        total[index] += count


def analytics_series(
    *, workspace: Workspace, filters: Filters, metric: str, bucket: str
) -> dict[str, Any]:
    """One metric per bucket of the workspace's time zone, empty buckets included."""
    level = metrics.metric_level(metric)
    if level is None:
        raise ApplicationError(f"No such metric: {metric}.", code="unknown_metric")
    zone = workspace_zone(workspace=workspace)
    starts = list(bucket_starts(filters, bucket, zone))
    values: list[Any]
    if level == "conversation":
        facts = fact_list(workspace=workspace, filters=filters)
        sums = _bucketed(
            _grouped(facts, "started_hour", FACT_SUMS),
            starts,
            bucket,
            workspace,
            _add,
            _empty_fact_sums,
        )
        if metric in metrics.CONVERSATION_DURATIONS:
            durations = _bucketed(
                _durations(facts, "started_hour")[metric],
                starts,
                bucket,
                workspace,
                _merge_lists,
                list,
            )
        else:
            durations = [[] for _ in starts]
        values = [
            conversation_values(s, {metric: d})[metric]
            for s, d in zip(sums, durations, strict=True)
        ]
    elif level == "turn":
        sums = _bucketed(
            _grouped(rollup_list(workspace=workspace, filters=filters), "hour", TURN_SUMS),
            starts,
            bucket,
            workspace,
            _add,
            _empty_turn_sums,
        )
        values = [turn_values(s)[metric] for s in sums]
    else:
        stage = metric.removeprefix(metrics.LATENCY_PREFIX)
        rows = latency_list(workspace=workspace, filters=filters).filter(stage=stage)
        per_hour = {hour: h for (hour,), h in _histograms(rows, ("hour",)).items()}
        histograms = _bucketed(
            per_hour,
            starts,
            bucket,
            workspace,
            _merge_histograms,
            lambda: [0] * len(LATENCY_FIELDS),
        )
        values = [latency_values(h) for h in histograms]
    return {
        "metric": metric,
        "level": level,
        "bucket": bucket,
        "time_zone": str(zone),
        "filters": filters.to_json(),
        "points": [
            {
                "start": start.isoformat(),
                "end": min(
                    bucket_next(start, bucket, zone), filters.end.astimezone(zone)
                ).isoformat(),
                **value,
            }
            for start, value in zip(starts, values, strict=True)
        ],
    }


# --- intents and model versions ---------------------------------------------------------------

INTENTS_SHOWN = 50
RISING_SHOWN = 10
RISING_MIN_TURNS = 5
TRENDS_SHOWN = 8


def analytics_intents(*, workspace: Workspace, filters: Filters, bucket: str) -> dict[str, Any]:
    """Per intent: turns, thumbs-down rate, and automated resolution of the conversations it
    started, now and in the previous period; the intents rising fastest
    (``metrics.rise_score``), and the turns per bucket of the busiest intents."""
    current, previous = (
        {key[0]: sums for key, sums in period.items()}
        for period in rollup_sums(
            workspace=workspace,
            table="turn",
            periods=[filters, filters.previous()],
            by=("intent",),
        )
    )
    facts = _grouped(fact_list(workspace=workspace, filters=filters), "intent", FACT_SUMS)
    rows = []
    for intent, sums in current.items():
        before = previous.get(intent) or _empty_turn_sums()
        conversation = facts.get(intent) or _empty_fact_sums()
        rows.append(
            {
                "intent": intent,
                "turns": int(sums["turns"]),
                "previous_turns": int(before["turns"]),
                "rise": metrics.rise_score(int(sums["turns"]), int(before["turns"])),
                "thumbs_down": turn_values(sums)["thumbs_down"],
                "automated_resolution": metrics.Rate(
                    int(conversation["resolved"]), int(conversation["settled"])
                ).to_json(),
            }
        )
    rows.sort(key=lambda r: (-r["turns"], r["intent"]))
    rising = sorted(
        (r for r in rows if r["turns"] >= RISING_MIN_TURNS),
        key=lambda r: (-r["rise"], -r["turns"], r["intent"]),
    )
    top = [r["intent"] for r in rows[:TRENDS_SHOWN]]
    zone = workspace_zone(workspace=workspace)
    starts = list(bucket_starts(filters, bucket, zone))
    per_intent: dict[str, dict[Hashable, int]] = defaultdict(dict)
    # Day rows serve day, week and month buckets (a day lies in one of each).
    (trend_sums,) = rollup_sums(
        workspace=workspace,
        table="turn",
        periods=[filters],
        by=("intent", "at"),
        where=Q(intent__in=top),
        days=bucket != "hour",
    )
    for (intent, moment), sums in trend_sums.items():
        per_intent[intent][moment] = per_intent[intent].get(moment, 0) + int(sums["turns"])

    def add(total: dict[str, int], part: int) -> None:
        total["turns"] += part

    trends = {
        intent: [
            b["turns"]
            for b in _bucketed(
                per_intent[intent], starts, bucket, workspace, add, lambda: {"turns": 0}
            )
        ]
        for intent in top
    }
    return {
        "filters": filters.to_json(),
        "intents": rows[:INTENTS_SHOWN],
        "rising": [r["intent"] for r in rising[:RISING_SHOWN]],
        "trend": {
            "bucket": bucket,
            "starts": [s.isoformat() for s in starts],
            "turns": trends,
        },
    }


COMPARED_CONVERSATION = ("conversations", "automated_resolution", "durable_resolution", "handoff")
COMPARED_CSAT = ("csat_satisfied", "csat_mean")
COMPARED_TURN = ("turns", "clarify", "oos", "thumbs_down", "fallback", "guard_blocked")
COMPARED_LATENCY = ("total", "first_chunk")


def analytics_models(*, workspace: Workspace, filters: Filters) -> dict[str, Any]:
    """The main metrics per NLU model version and per generator version. A conversation counts
    for the versions of its first turn, a turn for its own."""
    out: dict[str, Any] = {"filters": filters.to_json()}
    for dimension in ("nlu_model", "generator"):
        (fact_totals,) = fact_sums_by_period(
            workspace=workspace, periods=[filters], by=(dimension,)
        )
        facts = {key[0]: sums for key, sums in fact_totals.items()}
        (turn_sums,) = rollup_sums(
            workspace=workspace, table="turn", periods=[filters], by=(dimension,)
        )
        turns = {key[0]: sums for key, sums in turn_sums.items()}
        (latency_sums,) = rollup_sums(
            workspace=workspace,
            table="latency",
            periods=[filters],
            by=(dimension, "stage"),
            where=Q(stage__in=COMPARED_LATENCY),
        )
        latency = {
            key: [int(sums[name]) for name in LATENCY_FIELDS] for key, sums in latency_sums.items()
        }
        rows = []
        for version in sorted({*facts, *turns}, key=str):
            conversation = conversation_values(facts.get(version) or _empty_fact_sums(), {})
            turn = turn_values(turns.get(version) or _empty_turn_sums())
            rows.append(
                {
                    "version": version,
                    **{n: conversation[n] for n in COMPARED_CONVERSATION + COMPARED_CSAT},
                    **{n: turn[n] for n in COMPARED_TURN},
                    **{
                        f"latency_{stage}": latency_values(
                            latency.get((version, stage), [0] * len(LATENCY_FIELDS))
                        )
                        for stage in COMPARED_LATENCY
                    },
                }
            )
        out[dimension] = rows
    return out
