"""CSV exports, one row at a time (the database streams them: memory stays flat): one row per
conversation, one per turn, or a metric's series. Text columns carry what is stored, which for
customers is the redacted text; agents' messages are never exported."""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import OuterRef, Subquery

from apps.accounts.models import Workspace
from apps.analytics import metrics
from apps.analytics.selectors.drilldown import turn_list
from apps.analytics.selectors.filters import Filters, fact_list, workspace_zone
from apps.chat.models import Message
from apps.feedback.models import MessageFeedback

CHUNK = 2000
# A cell a spreadsheet would run as a formula starts with one of these: it gets a quote first.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CONVERSATION_COLUMNS = (
    "conversation_id",
    "started_at",
    "language",
    "intent",
    "route",
    "nlu_model",
    "generator",
    "customer_messages",
    "bot_turns",
    "agent_messages",
    "handed_off",
    "handoff_category",
    "handoff_reason",
    "agent_first_response_s",
    "handoff_to_close_s",
    "closed_at",
    "settled",
    "resolved",
    "reopened",
    "durable_known",
    "durable",
    "csat_score",
    "csat_comment",
    "thumbs_up",
    "thumbs_down",
    "first_customer_message",
)
TURN_COLUMNS = (
    "turn_id",
    "conversation_id",
    "created_at",
    "customer_message",
    "reply",
    "intent",
    "intent_score",
    "oos",
    "route",
    "route_reason",
    "nlu_model",
    "generator",
    "answer_path",
    "answered",
    "guard_blocked",
    "injection_flagged",
    "redactions",
    "latency_total_ms",
    "latency_first_chunk_ms",
    "rating",
    "rating_reason",
)


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _Line:
    """A file-like object that hands back what ``csv.writer`` writes."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def conversation_rows(*, workspace: Workspace, filters: Filters) -> Iterator[list[Any]]:
    zone = workspace_zone(workspace=workspace)
    first_message = (
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"), sender=Message.Sender.CUSTOMER
        )
        .order_by("created_at", "id")
        .values("text")[:1]
    )
    rows = (
        fact_list(workspace=workspace, filters=filters)
        .annotate(first_customer_message=Subquery(first_message))
        .order_by("started_at", "conversation_id")
        .values(
            *(c for c in CONVERSATION_COLUMNS if c not in ("handoff_reason", "csat_comment")),
            "conversation__handoff_reason",
            "conversation__csat_comment",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK):
        row["handoff_reason"] = row.pop("conversation__handoff_reason")
        row["csat_comment"] = row.pop("conversation__csat_comment")
        for field in ("started_at", "closed_at"):
            if row[field] is not None:
                row[field] = row[field].astimezone(zone).isoformat()
        yield [row[column] for column in CONVERSATION_COLUMNS]


def turn_rows(*, workspace: Workspace, filters: Filters) -> Iterator[list[Any]]:
    zone = workspace_zone(workspace=workspace)
    rating = MessageFeedback.objects.filter(message_id=OuterRef("reply_message_id"))
    rows = (
        turn_list(workspace=workspace, filters=filters)
        .annotate(
            rating=Subquery(rating.values("rating")[:1]),
            rating_reason=Subquery(rating.values("reason")[:1]),
        )
        .order_by("created_at", "id")
        .values(
            "id",
            "conversation_id",
            "created_at",
            "customer_message__text",
            "reply_message__text",
            "intent",
            "intent_score",
            "route",
            "data",
            "rating",
            "rating_reason",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK):
        data = row["data"] or {}
        facts = metrics.turn_facts(route=row["route"], intent=row["intent"], data=data)
        yield [
            row["id"],
            row["conversation_id"],
            row["created_at"].astimezone(zone).isoformat(),
            row["customer_message__text"] or "",
            row["reply_message__text"] or "",
            row["intent"],
            row["intent_score"],
            facts.oos,
            row["route"],
            (data.get("route") or {}).get("reason", ""),
            facts.nlu_model,
            facts.generator,
            facts.path,
            facts.answered,
            facts.guard_blocked,
            facts.injection_flagged,
            ";".join(f"{kind}={count}" for kind, count in sorted(facts.redactions.items())),
            facts.latency_ms.get("total"),
            facts.latency_ms.get("first_chunk"),
            row["rating"] or "",
            row["rating_reason"] or "",
        ]


SERIES_COLUMNS = {
    "count": ("start", "end", "value"),
    "rate": ("start", "end", "value", "k", "n", "low", "high"),
    "mean": ("start", "end", "value", "n", "low", "high"),
    "duration": ("start", "end", "n", "mean", "p50", "p90"),
    "latency": ("start", "end", "n", "p50", "p90", "p99"),
}


def series_kind(metric: str) -> str:
    if metric in metrics.CONVERSATION_COUNTS or metric in metrics.TURN_COUNTS:
        return "count"
    if metric in metrics.CONVERSATION_RATES or metric in metrics.TURN_RATES:
        return "rate"
    if metric in metrics.CONVERSATION_MEANS:
        return "mean"
    if metric in metrics.CONVERSATION_DURATIONS:
        return "duration"
    return "latency"


def series_rows(series: dict[str, Any]) -> tuple[tuple[str, ...], Iterator[list[Any]]]:
    columns = SERIES_COLUMNS[series_kind(series["metric"])]
    return columns, ([point.get(c) for c in columns] for point in series["points"])
