"""Writes of the derived analytics tables: conversation facts and turn rollups, refreshed
incrementally (``analytics_refresh``, every few minutes from Celery beat) or rebuilt from the raw
tables (``analytics_rebuild``, the ``analytics_rebuild`` command).

    raw tables ──> conversation_facts_refresh ──> ConversationFact ──> ConversationRollupDay
         │                    │ (the UTC hours of their turns)          (the days they started)
         └──────────> turn_rollups_rebuild ──> TurnRollup, TurnRollupCount, LatencyRollup
                                   │ (the days of the workspace's time zone holding those hours)
                                   └──> day_rollups_rebuild ──> TurnRollupDay, ...CountDay,
                                                                LatencyRollupDay

A rollup hour is always rebuilt whole from the raw rows of that hour, and a rollup day from the
hourly rows of the hours that start in it, so running either twice gives the same tables.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Min, Q, Sum
from django.utils import timezone

from apps.accounts.models import Workspace
from apps.analytics import metrics
from apps.analytics.models import (
    FACT_FIELDS,
    LATENCY_FIELDS,
    TURN_FIELDS,
    ConversationFact,
    ConversationRollupDay,
    LatencyRollup,
    LatencyRollupDay,
    RollupState,
    TurnRollup,
    TurnRollupCount,
    TurnRollupCountDay,
    TurnRollupDay,
)
from apps.analytics.selectors.dashboard import fact_sums
from apps.analytics.selectors.filters import (
    analytics_settings_get,
    bucket_floor,
    bucket_next,
    workspace_zone,
)
from apps.chat.models import Conversation, Message
from apps.dialogue.models import TurnTrace
from apps.feedback.models import MessageFeedback

BATCH = 1000
# Rows written after a refresh started may belong to transactions that began before it: the next
# refresh looks back this far behind the last one.
OVERLAP = timedelta(minutes=5)
HOUR = timedelta(hours=1)
REASON_MAX = 100


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


# --- conversation facts -----------------------------------------------------------------------


def conversation_facts_refresh(
    *, workspace: Workspace, conversation_ids: Iterable[int], now: datetime
) -> set[datetime]:
    """Recomputes the facts of these conversations of the workspace (a conversation without a
    customer message gets none). Returns the UTC hours of their turns: the rollups to rebuild."""
    settings_row = analytics_settings_get(workspace=workspace)
    windows = (
        timedelta(hours=settings_row.resolution_window_hours),
        timedelta(days=settings_row.durable_window_days),
    )
    hours: set[datetime] = set()
    ordered = sorted(set(conversation_ids))
    for index in range(0, len(ordered), BATCH):
        hours |= _facts_write(workspace, ordered[index : index + BATCH], now, *windows)
    zone = workspace_zone(workspace=workspace)
    started = Conversation.objects.filter(workspace=workspace, id__in=ordered).values_list(
        "created_at", flat=True
    )
    conversation_days_rebuild(
        workspace=workspace, days={bucket_floor(at, "day", zone) for at in started}
    )
    return hours


def conversation_days_rebuild(*, workspace: Workspace, days: Iterable[datetime]) -> None:
    """Rebuilds the workspace's conversation day rollups of these days (starts of days in its
    time zone) from the facts of the conversations that started in them."""
    zone = workspace_zone(workspace=workspace)
    sums = {f"sum_{name}": aggregate for name, aggregate in fact_sums().items()}
    for day in sorted(set(days)):
        ConversationRollupDay.objects.filter(workspace=workspace, day=day).delete()
        rows = (
            ConversationFact.objects.filter(
                workspace=workspace,
                started_at__gte=day,
                started_at__lt=bucket_next(day, "day", zone),
            )
            .order_by()
            .values("language", "nlu_model", "generator", "handed_off")
            .annotate(**sums)
        )
        ConversationRollupDay.objects.bulk_create(
            [
                ConversationRollupDay(
                    workspace=workspace,
                    day=day,
                    language=row["language"],
                    nlu_model=row["nlu_model"],
                    generator=row["generator"],
                    is_handed_off=row["handed_off"],
                    **{name: row[f"sum_{name}"] or 0 for name in FACT_FIELDS},
                )
                for row in rows
            ],
            batch_size=BATCH,
        )


def _first_customer_messages(conversation_ids: list[int]) -> dict[int, datetime]:
    return dict(
        Message.objects.filter(conversation_id__in=conversation_ids, sender=Message.Sender.CUSTOMER)
        .values("conversation_id")
        .annotate(first=Min("created_at"))
        .values_list("conversation_id", "first")
    )


def _later_returns(conversations: list[dict[str, Any]]) -> dict[int, list[datetime]]:
    """For each conversation, the first customer message of each later conversation of its
    customer session."""
    sessions = {c["customer_session_id"] for c in conversations}
    siblings = list(
        Conversation.objects.filter(customer_session_id__in=sessions).values(
            "id", "customer_session_id", "created_at"
        )
    )
    firsts = _first_customer_messages([s["id"] for s in siblings])
    by_session: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for sibling in siblings:
        by_session[sibling["customer_session_id"]].append(dict(sibling))
    later: dict[int, list[datetime]] = {}
    for conversation in conversations:
        later[conversation["id"]] = [
            firsts[s["id"]]
            for s in by_session[conversation["customer_session_id"]]
            if (s["created_at"], s["id"]) > (conversation["created_at"], conversation["id"])
            and s["id"] in firsts
        ]
    return later


def _marks(values: Iterable[str]) -> str:
    unique = sorted({v for v in values if v})
    return f",{','.join(unique)}," if unique else ""


def _facts_write(
    workspace: Workspace,
    conversation_ids: list[int],
    now: datetime,
    resolution_window: timedelta,
    durable_window: timedelta,
) -> set[datetime]:
    conversations: list[dict[str, Any]] = [
        dict(row)
        for row in Conversation.objects.filter(workspace=workspace, id__in=conversation_ids).values(
            "id",
            "customer_session_id",
            "created_at",
            "closed_at",
            "handoff_requested_at",
            "handoff_reason",
            "csat_score",
        )
    ]
    ids = [c["id"] for c in conversations]
    activity: dict[int, list[metrics.Activity]] = defaultdict(list)
    first_customer: dict[int, int] = {}
    for conversation_id, message_id, sender, at in (
        Message.objects.filter(conversation_id__in=ids)
        .exclude(sender=Message.Sender.SYSTEM)
        .order_by("conversation_id", "created_at", "id")
        .values_list("conversation_id", "id", "sender", "created_at")
    ):
        activity[conversation_id].append(metrics.Activity(sender=sender, at=at))
        if sender == Message.Sender.CUSTOMER:
            first_customer.setdefault(conversation_id, message_id)
    first_texts = dict(
        Message.objects.filter(id__in=first_customer.values()).values_list("id", "text")
    )
    traces: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for trace in (
        TurnTrace.objects.filter(conversation_id__in=ids)
        .order_by("conversation_id", "created_at", "id")
        .values("conversation_id", "created_at", "route", "intent", "data", "reply_message_id")
    ):
        traces[trace["conversation_id"]].append(dict(trace))
    ratings = dict(
        MessageFeedback.objects.filter(message__conversation_id__in=ids).values_list(
            "message_id", "rating"
        )
    )
    later = _later_returns(conversations)

    facts: list[ConversationFact] = []
    hours: set[datetime] = set()
    for conversation in conversations:
        cid = conversation["id"]
        turns = traces[cid]
        hours |= {_hour(t["created_at"]) for t in turns}
        if cid not in first_customer:
            continue
        messages = activity[cid]
        turn_facts = [
            metrics.turn_facts(route=t["route"], intent=t["intent"], data=t["data"] or {})
            for t in turns
        ]
        handoff_at = conversation["handoff_requested_at"]
        agent_times = [a.at for a in messages if a.sender == Message.Sender.AGENT]
        first_agent = next((t for t in agent_times if handoff_at and t >= handoff_at), None)
        closed_at = conversation["closed_at"]
        outcome = metrics.conversation_outcome(
            activity=messages,
            closed_at=closed_at,
            handoff_requested_at=handoff_at,
            later_customer_messages=later[cid],
            now=now,
            resolution_window=resolution_window,
            durable_window=durable_window,
        )
        turn_ratings = [ratings.get(t["reply_message_id"]) for t in turns]
        facts.append(
            ConversationFact(
                conversation_id=cid,
                workspace=workspace,
                started_at=conversation["created_at"],
                language=metrics.conversation_language(
                    first_texts[first_customer[cid]],
                    str(((turns[0]["data"] or {}).get("control") or {}).get("language") or "")
                    if turns
                    else "",
                ),
                intent=turns[0]["intent"] if turns else "",
                route=turns[0]["route"] if turns else "",
                nlu_model=turn_facts[0].nlu_model if turns else "",
                generator=next((f.generator for f in turn_facts if f.generator), ""),
                intents=_marks(f.intent for f in turn_facts),
                routes=_marks(f.route for f in turn_facts),
                customer_messages=sum(a.sender == Message.Sender.CUSTOMER for a in messages),
                bot_turns=len(turns),
                agent_messages=len(agent_times),
                handed_off=handoff_at is not None,
                handoff_category=(
                    metrics.handoff_category(conversation["handoff_reason"]) if handoff_at else ""
                ),
                handoff_at=handoff_at,
                agent_first_response_s=(
                    (first_agent - handoff_at).total_seconds()
                    if first_agent and handoff_at
                    else None
                ),
                handoff_to_close_s=(
                    (closed_at - handoff_at).total_seconds() if closed_at and handoff_at else None
                ),
                closed_at=closed_at,
                settled=outcome.settled,
                ended_at=outcome.ended_at,
                resolved=outcome.resolved,
                reopened=outcome.reopened,
                durable_known=outcome.durable_known,
                durable=outcome.durable,
                csat_score=conversation["csat_score"],
                answered_turns=sum(f.answered for f in turn_facts),
                thumbs_up=sum(r == MessageFeedback.Rating.UP for r in turn_ratings),
                thumbs_down=sum(r == MessageFeedback.Rating.DOWN for r in turn_ratings),
                recheck_at=outcome.recheck_at,
                computed_at=now,
            )
        )
    ConversationFact.objects.filter(
        workspace=workspace, conversation_id__in=conversation_ids
    ).delete()
    ConversationFact.objects.bulk_create(facts, batch_size=BATCH)
    return hours


# --- turn rollups -----------------------------------------------------------------------------


@dataclass
class _Counts:
    row: dict[str, int]
    keyed: dict[tuple[str, str], int]


def _hour_ranges(hours: Iterable[datetime]) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive hours joined into [start, end) ranges."""
    start: datetime | None = None
    end: datetime | None = None
    for hour in sorted(hours):
        if end is not None and hour == end:
            end = hour + HOUR
            continue
        if start is not None and end is not None:
            yield start, end
        start, end = hour, hour + HOUR
    if start is not None and end is not None:
        yield start, end


def turn_rollups_rebuild(*, workspace: Workspace, hours: Iterable[datetime]) -> int:
    """Rebuilds the workspace's rollups of these UTC hours from the raw tables (one day of
    traces at a time), then its day rollups of the days holding them. Returns how many turns
    they hold."""
    turns = 0
    hours = set(hours)
    for start, end in _hour_ranges(hours):
        cursor = start
        while cursor < end:
            step = min(end, cursor + timedelta(days=1))
            turns += _rollups_write(workspace, cursor, step)
            cursor = step
    zone = workspace_zone(workspace=workspace)
    day_rollups_rebuild(workspace=workspace, days={bucket_floor(h, "day", zone) for h in hours})
    return turns


# --- day rollups ------------------------------------------------------------------------------

DAY_DIMENSIONS = ("language", "route", "nlu_model", "generator", "handed_off")
# (hourly table, day table, its other keys, its counters)
DAY_TABLES: tuple[tuple[Any, Any, tuple[str, ...], tuple[str, ...]], ...] = (
    (TurnRollup, TurnRollupDay, ("intent",), tuple(TURN_FIELDS)),
    (TurnRollupCount, TurnRollupCountDay, ("intent", "kind", "key"), ("count",)),
    (LatencyRollup, LatencyRollupDay, ("stage",), tuple(LATENCY_FIELDS)),
)


def day_rollups_rebuild(*, workspace: Workspace, days: Iterable[datetime]) -> None:
    """Rebuilds the workspace's day rollups of these days (starts of days in its time zone)
    from its hourly rollups: a day row sums the hourly rows of the UTC hours that start in the
    day (for a zone whose offset is not whole hours, an hour goes to the day it starts in)."""
    zone = workspace_zone(workspace=workspace)
    for day in sorted(set(days)):
        end = bucket_next(day, "day", zone)
        for hourly, daily, keys, fields in DAY_TABLES:
            daily.objects.filter(workspace=workspace, day=day).delete()
            rows = (
                hourly.objects.filter(workspace=workspace, hour__gte=day, hour__lt=end)
                .order_by()
                .values(*DAY_DIMENSIONS, *keys)
                .annotate(**{f"sum_{name}": Sum(name) for name in fields})
            )
            daily.objects.bulk_create(
                [
                    daily(
                        workspace=workspace,
                        day=day,
                        **{name: row[name] for name in (*DAY_DIMENSIONS, *keys)},
                        **{name: row[f"sum_{name}"] or 0 for name in fields},
                    )
                    for row in rows
                ],
                batch_size=BATCH,
            )


def _day_rollups_reset(workspace: Workspace) -> str:
    """Rebuilds all of the workspace's day rollups in its current time zone; returns the zone."""
    for _, daily, _, _ in DAY_TABLES:
        daily.objects.filter(workspace=workspace).delete()
    ConversationRollupDay.objects.filter(workspace=workspace).delete()
    zone = workspace_zone(workspace=workspace)
    started = ConversationFact.objects.filter(workspace=workspace).aggregate(
        first=Min("started_at"), last=Max("started_at")
    )
    if started["first"] is not None and started["last"] is not None:
        conversation_days_rebuild(
            workspace=workspace, days=_days(started["first"], started["last"], zone)
        )
    bounds = TurnRollup.objects.filter(workspace=workspace).aggregate(
        first=Min("hour"), last=Max("hour")
    )
    first, last = bounds["first"], bounds["last"]
    if first is not None and last is not None:
        day_rollups_rebuild(workspace=workspace, days=_days(first, last, zone))
    return str(zone)


def _days(first: datetime, last: datetime, zone: Any) -> list[datetime]:
    """The starts of the days of ``zone`` from the one holding ``first`` to the one holding
    ``last``."""
    days = []
    cursor = bucket_floor(first, "day", zone)
    while cursor <= last:
        days.append(cursor)
        cursor = bucket_next(cursor, "day", zone)
    return days


def _rollups_write(workspace: Workspace, start: datetime, end: datetime) -> int:
    traces = list(
        TurnTrace.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
        .order_by()
        .values("conversation_id", "created_at", "route", "intent", "data", "reply_message_id")
    )
    dims_of = {
        cid: (language, handed_off)
        for cid, language, handed_off in ConversationFact.objects.filter(
            conversation_id__in={t["conversation_id"] for t in traces}
        ).values_list("conversation_id", "language", "handed_off")
    }
    feedback = {
        message_id: (rating, reason)
        for message_id, rating, reason in MessageFeedback.objects.filter(
            message_id__in=[t["reply_message_id"] for t in traces if t["reply_message_id"]]
        ).values_list("message_id", "rating", "reason")
    }
    rollups: dict[tuple[Any, ...], _Counts] = {}
    latency: dict[tuple[Any, ...], list[int]] = {}
    for trace in traces:
        facts = metrics.turn_facts(
            route=trace["route"], intent=trace["intent"], data=trace["data"] or {}
        )
        language, handed_off = dims_of.get(trace["conversation_id"], ("en", False))
        common = (
            _hour(trace["created_at"]),
            language,
            facts.route,
            facts.nlu_model,
            facts.generator,
            handed_off,
        )
        counts = rollups.setdefault((*common, facts.intent), _Counts(defaultdict(int), {}))
        rating, reason = feedback.get(trace["reply_message_id"], ("", ""))
        down = rating == MessageFeedback.Rating.DOWN
        row = counts.row
        row["turns"] += 1
        row["oos"] += facts.oos
        row["clarify"] += facts.route == "clarify"
        row["answered"] += facts.answered
        row["thumbs_up"] += rating == MessageFeedback.Rating.UP
        row["thumbs_down"] += down
        row["thumbs_down_answered"] += down and facts.answered
        row["knowledge"] += facts.path != ""
        if facts.path:
            row[f"path_{facts.path}"] += 1
        row["generated"] += facts.path in metrics.GENERATED_PATHS
        row["fallback"] += facts.fallback
        row["guard_blocked"] += facts.guard_blocked
        row["injection_flagged"] += facts.injection_flagged
        row["injection_refused"] += facts.route == "refuse"
        row["injection_handoff"] += facts.injection_handoff
        for kind, count in facts.redactions.items():
            key = (TurnRollupCount.Kind.REDACTION.value, kind[:REASON_MAX])
            counts.keyed[key] = counts.keyed.get(key, 0) + count
        if down and reason.strip():
            key = (TurnRollupCount.Kind.DOWN_REASON.value, reason.strip()[:REASON_MAX])
            counts.keyed[key] = counts.keyed.get(key, 0) + 1
        for stage, ms in facts.latency_ms.items():
            histogram = latency.setdefault((*common, stage[:40]), [0] * metrics.LATENCY_BUCKETS)
            histogram[metrics.latency_bucket(ms)] += 1

    def dims(key: tuple[Any, ...]) -> dict[str, Any]:
        hour, language, route, nlu_model, generator, handed_off = key[:6]
        return {
            "workspace": workspace,
            "hour": hour,
            "language": language,
            "route": route,
            "nlu_model": nlu_model[:120],
            "generator": generator[:160],
            "handed_off": handed_off,
        }

    scope = {"workspace": workspace, "hour__gte": start, "hour__lt": end}
    TurnRollup.objects.filter(**scope).delete()
    TurnRollupCount.objects.filter(**scope).delete()
    LatencyRollup.objects.filter(**scope).delete()
    TurnRollup.objects.bulk_create(
        [
            TurnRollup(**dims(key), intent=key[6][:120], **counts.row)
            for key, counts in rollups.items()
        ],
        batch_size=BATCH,
    )
    TurnRollupCount.objects.bulk_create(
        [
            TurnRollupCount(**dims(key), intent=key[6][:120], kind=kind, key=value, count=count)
            for key, counts in rollups.items()
            for (kind, value), count in counts.keyed.items()
        ],
        batch_size=BATCH,
    )
    LatencyRollup.objects.bulk_create(
        [
            LatencyRollup(
                **dims(key),
                stage=key[6],
                **{field: n for field, n in zip(LATENCY_FIELDS, histogram, strict=True) if n},
            )
            for key, histogram in latency.items()
        ],
        batch_size=BATCH,
    )
    return len(traces)


# --- refresh and rebuild ----------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshResult:
    conversations: int
    hours: int
    turns: int


def _dirty_conversations(workspace: Workspace, since: datetime, now: datetime) -> set[int]:
    """Conversations whose facts may have changed since ``since``: new messages, traces,
    feedback, a handoff or closing, a CSAT score, a window that has run out, and the earlier
    conversations of their customers (a return reopens them)."""
    conversations = Conversation.objects.filter(workspace=workspace)
    touched = set(
        Message.objects.filter(conversation__workspace=workspace, created_at__gte=since)
        .values_list("conversation_id", flat=True)
        .distinct()
    )
    touched |= set(
        TurnTrace.objects.filter(workspace=workspace, created_at__gte=since).values_list(
            "conversation_id", flat=True
        )
    )
    touched |= set(
        MessageFeedback.objects.filter(workspace=workspace, updated_at__gte=since).values_list(
            "message__conversation_id", flat=True
        )
    )
    touched |= set(
        conversations.filter(
            Q(created_at__gte=since) | Q(handoff_requested_at__gte=since) | Q(closed_at__gte=since)
        ).values_list("id", flat=True)
    )
    facts = ConversationFact.objects.filter(workspace=workspace)
    touched |= set(facts.filter(recheck_at__lte=now).values_list("conversation_id", flat=True))
    # A CSAT score leaves no other trace: compare it with the facts.
    both_rated = Q(csat_score__isnull=False, conversation__csat_score__isnull=False)
    touched |= set(
        facts.filter(
            (both_rated & ~Q(csat_score=F("conversation__csat_score")))
            | Q(csat_score__isnull=True, conversation__csat_score__isnull=False)
            | Q(csat_score__isnull=False, conversation__csat_score__isnull=True)
        ).values_list("conversation_id", flat=True)
    )
    sessions = conversations.filter(id__in=touched).values("customer_session_id")
    touched |= set(
        conversations.filter(customer_session_id__in=sessions).values_list("id", flat=True)
    )
    return touched


def analytics_refresh(*, workspace: Workspace, now: datetime | None = None) -> RefreshResult:
    """Brings the workspace's facts and rollups up to date with what changed since the last
    refresh (the first one rebuilds everything)."""
    now = now or timezone.now()
    with transaction.atomic():
        state = RollupState.objects.select_for_update().filter(workspace=workspace).first()
        if state is None:
            return _rebuild_locked(workspace, now)
        conversation_ids = _dirty_conversations(workspace, state.refreshed_at - OVERLAP, now)
        hours = conversation_facts_refresh(
            workspace=workspace, conversation_ids=conversation_ids, now=now
        )
        turns = turn_rollups_rebuild(workspace=workspace, hours=hours)
        if state.day_zone != str(workspace_zone(workspace=workspace)):
            state.day_zone = _day_rollups_reset(workspace)
        state.refreshed_at = now
        state.save(update_fields=["refreshed_at", "day_zone"])
    return RefreshResult(conversations=len(conversation_ids), hours=len(hours), turns=turns)


def analytics_rebuild(*, workspace: Workspace, now: datetime | None = None) -> RefreshResult:
    """Rebuilds all of the workspace's facts and rollups from the raw tables."""
    now = now or timezone.now()
    with transaction.atomic():
        RollupState.objects.get_or_create(workspace=workspace, defaults={"refreshed_at": now})
        RollupState.objects.select_for_update().get(workspace=workspace)
        return _rebuild_locked(workspace, now)


def _rebuild_locked(workspace: Workspace, now: datetime) -> RefreshResult:
    conversation_ids = list(
        Conversation.objects.filter(workspace=workspace).values_list("id", flat=True)
    )
    ConversationFact.objects.filter(workspace=workspace).delete()
    ConversationRollupDay.objects.filter(workspace=workspace).delete()
    conversation_facts_refresh(workspace=workspace, conversation_ids=conversation_ids, now=now)
    bounds = TurnTrace.objects.filter(workspace=workspace).aggregate(
        first=Min("created_at"), last=Max("created_at")
    )
    for model in (TurnRollup, TurnRollupCount, LatencyRollup, *(t[1] for t in DAY_TABLES)):
        model.objects.filter(workspace=workspace).delete()
    turns = 0
    hours = 0
    if bounds["first"] is not None:
        start, end = _hour(bounds["first"]), _hour(bounds["last"]) + HOUR
        hours = int((end - start) / HOUR)
        turns = turn_rollups_rebuild(
            workspace=workspace, hours=[start + HOUR * i for i in range(hours)]
        )
    RollupState.objects.update_or_create(
        workspace=workspace,
        defaults={"refreshed_at": now, "day_zone": str(workspace_zone(workspace=workspace))},
    )
    return RefreshResult(conversations=len(conversation_ids), hours=hours, turns=turns)
