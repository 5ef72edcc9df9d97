"""The dashboards' numbers: every metric of ``metrics`` for a period and its previous period,
as a series of buckets, per intent and per model version. Read from the derived tables only
(``ConversationFact`` and the rollups), never from the raw ones."""

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncHour

from apps.accounts.models import Workspace
from apps.analytics import metrics
from apps.analytics.models import LATENCY_FIELDS, ConversationFact, TurnRollupCount
from apps.analytics.selectors.filters import (
    Filters,
    bucket_floor,
    bucket_next,
    bucket_starts,
    fact_list,
    latency_list,
    rollup_count_list,
    rollup_list,
    workspace_zone,
)
from apps.core.exceptions import ApplicationError

Sums = dict[str, float]

FACT_SUMS: dict[str, Any] = {
    "conversations": Count("pk"),
    "customer_messages": Coalesce(Sum("customer_messages"), 0),
    "settled": Count("pk", filter=Q(settled=True)),
    "resolved": Count("pk", filter=Q(resolved=True)),
    "durable_known": Count("pk", filter=Q(durable_known=True)),
    "durable": Count("pk", filter=Q(durable=True)),
    "handed_off": Count("pk", filter=Q(handed_off=True)),
    **{
        f"handoff_{reason}": Count("pk", filter=Q(handoff_category=reason))
        for reason in metrics.HANDOFF_REASONS
    },
    "csat_responses": Count("pk", filter=Q(csat_score__isnull=False)),
    "csat_satisfied": Count("pk", filter=Q(csat_score__gte=4)),
    "csat_sum": Coalesce(Sum("csat_score"), 0),
    "csat_squares": Coalesce(Sum(F("csat_score") * F("csat_score")), 0),
}
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


def _period(workspace: Workspace, filters: Filters) -> dict[str, Any]:
    facts = fact_list(workspace=workspace, filters=filters)
    fact_sums = _grouped(facts, None, FACT_SUMS)[None]
    durations = {name: values.get(None, []) for name, values in _durations(facts, None).items()}
    turn_sums = _grouped(rollup_list(workspace=workspace, filters=filters), None, TURN_SUMS)[None]
    latency = _histograms(latency_list(workspace=workspace, filters=filters), ("stage",))
    counts = (
        rollup_count_list(workspace=workspace, filters=filters)
        .order_by()
        .values("kind", "key")
        .annotate(total=Sum("count"))
    )
    keyed: dict[str, dict[str, int]] = defaultdict(dict)
    for row in counts:
        keyed[row["kind"]][row["key"]] = row["total"]
    return {
        "metrics": {**conversation_values(fact_sums, durations), **turn_values(turn_sums)},
        "latency": {stage: latency_values(h) for (stage,), h in sorted(latency.items())},
        "redactions": keyed[TurnRollupCount.Kind.REDACTION],
        "down_reasons": keyed[TurnRollupCount.Kind.DOWN_REASON],
    }


def analytics_summary(*, workspace: Workspace, filters: Filters) -> dict[str, Any]:
    """Every metric in the period and in the previous period of the same length."""
    current = _period(workspace, filters)
    previous_filters = filters.previous()
    previous = _period(workspace, previous_filters)
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
    current = _grouped(rollup_list(workspace=workspace, filters=filters), "intent", TURN_SUMS)
    previous = _grouped(
        rollup_list(workspace=workspace, filters=filters.previous()), "intent", TURN_SUMS
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
    for row in (
        rollup_list(workspace=workspace, filters=filters)
        .filter(intent__in=top)
        .order_by()
        .values("intent", "hour")
        .annotate(turns=Sum("turns"))
    ):
        per_intent[row["intent"]][row["hour"]] = row["turns"]

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
        facts = _grouped(fact_list(workspace=workspace, filters=filters), dimension, FACT_SUMS)
        turns = _grouped(rollup_list(workspace=workspace, filters=filters), dimension, TURN_SUMS)
        latency = _histograms(
            latency_list(workspace=workspace, filters=filters).filter(stage__in=COMPARED_LATENCY),
            (dimension, "stage"),
        )
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
