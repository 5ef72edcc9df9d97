"""Behind a number: the conversations a metric counted (in the period, or in one bucket of a
series), then one conversation with each turn's trace. These read the raw tables."""

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.accounts.models import Workspace
from apps.analytics import metrics
from apps.analytics.models import ConversationFact
from apps.analytics.selectors.filters import (
    Filters,
    bucket_floor,
    bucket_next,
    fact_list,
    workspace_zone,
)
from apps.chat.models import Conversation, Message
from apps.core.exceptions import ApplicationError, NotFound
from apps.dialogue.models import DialogueSettings, TurnTrace
from apps.feedback.models import MessageFeedback

SIDES = ("numerator", "denominator", "rest")

# Conversation metrics: (the conversations counted above the line, those below it).
_ALL = Q()
CONVERSATION_SETS: dict[str, tuple[Q, Q]] = {
    "conversations": (_ALL, _ALL),
    "customer_messages": (_ALL, _ALL),
    "automated_resolution": (Q(resolved=True), Q(settled=True)),
    "durable_resolution": (Q(durable=True), Q(durable_known=True)),
    "handoff": (Q(handed_off=True), _ALL),
    **{
        f"handoff_{reason}": (Q(handoff_category=reason), _ALL)
        for reason in metrics.HANDOFF_REASONS
    },
    "csat_response": (Q(csat_score__isnull=False), _ALL),
    "csat_satisfied": (Q(csat_score__gte=4), Q(csat_score__isnull=False)),
    "csat_mean": (Q(csat_score__isnull=False), Q(csat_score__isnull=False)),
    "agent_first_response": (
        Q(agent_first_response_s__isnull=False),
        Q(agent_first_response_s__isnull=False),
    ),
    "handoff_to_close": (Q(handoff_to_close_s__isnull=False), Q(handoff_to_close_s__isnull=False)),
}


def _not_true(key: str) -> Q:
    """A JSON key that is absent or false (``~Q(key=True)`` drops rows without the key)."""
    return Q(**{f"{key}__isnull": True}) | Q(**{key: False})


_FOUND = _not_true("data__handler__unanswered")
_ANSWERED = Q(route__in=metrics.ANSWERED_ROUTES) & _FOUND & _not_true("data__guard__blocked")
_GENERATED = Q(route="faq", data__generator__engine__in=metrics.GENERATED_PATHS) & _FOUND
# Turn metrics: the turns counted above the line, and below it (as ``metrics`` defines them).
TURN_SETS: dict[str, tuple[Q, Q]] = {
    "turns": (_ALL, _ALL),
    "clarify": (Q(route="clarify"), _ALL),
    "oos": (Q(data__nlu__oos=True), _ALL),
    "thumbs_down": (
        _ANSWERED & Q(reply_message__feedback__rating=MessageFeedback.Rating.DOWN),
        _ANSWERED,
    ),
    **{
        f"path_{path}": (
            Q(route="faq", data__generator__engine=path) & _FOUND,
            Q(route="faq"),
        )
        for path in metrics.GENERATED_PATHS
    },
    "path_not_found": (Q(route="faq", data__handler__unanswered=True), Q(route="faq")),
    "fallback": (
        _GENERATED
        & (
            Q(data__generator__fallbacks__0__isnull=False)
            | (Q(data__generator__broken__isnull=False) & ~Q(data__generator__broken=""))
        ),
        _GENERATED,
    ),
    "guard_blocked": (Q(data__guard__blocked=True), _ALL),
    "injection_flagged": (Q(data__inbound__injection__flagged=True), _ALL),
    "injection_refused": (Q(route="refuse"), _ALL),
    "injection_handoff": (
        Q(route="handoff", data__route__reason__startswith="prompt injection"),
        _ALL,
    ),
}


def _bucket_filters(
    workspace: Workspace, filters: Filters, bucket: str, bucket_start: datetime | None
) -> Filters:
    """The filters narrowed to one bucket of a series."""
    if bucket_start is None:
        return filters
    zone = workspace_zone(workspace=workspace)
    start = bucket_floor(bucket_start, bucket, zone)
    end = bucket_next(start, bucket, zone)
    return Filters(
        **{**filters.__dict__, "start": max(start, filters.start), "end": min(end, filters.end)}
    )


def _pick(sets: tuple[Q, Q], side: str) -> Q:
    numerator, denominator = sets
    if side == "numerator":
        return numerator
    if side == "denominator":
        return denominator
    return denominator & ~numerator


def turn_list(*, workspace: Workspace, filters: Filters) -> QuerySet[TurnTrace]:
    """The turns of the period that match the filters (the raw side of the rollups)."""
    rows = TurnTrace.objects.filter(
        workspace=workspace, created_at__gte=filters.start, created_at__lt=filters.end
    )
    if filters.intent:
        rows = rows.filter(intent=filters.intent)
    if filters.route:
        rows = rows.filter(route=filters.route)
    if filters.nlu_model:
        rows = rows.filter(data__nlu__model=filters.nlu_model)
    if filters.generator:
        engine, _, adapter = filters.generator.partition(":")
        rows = rows.filter(data__generator__engine=engine)
        rows = (
            rows.filter(data__generator__adapter=adapter)
            if adapter
            else rows.filter(Q(data__generator__adapter=None) | Q(data__generator__adapter=""))
        )
    if filters.language or filters.handed_off is not None:
        facts = ConversationFact.objects.filter(workspace=workspace)
        if filters.language:
            facts = facts.filter(language=filters.language)
        if filters.handed_off is not None:
            facts = facts.filter(handed_off=filters.handed_off)
        rows = rows.filter(conversation_id__in=facts.values("conversation_id"))
    return rows


def drilldown_conversations(
    *,
    workspace: Workspace,
    filters: Filters,
    metric: str,
    side: str = "numerator",
    bucket: str = "day",
    bucket_start: datetime | None = None,
) -> QuerySet[ConversationFact]:
    """The conversations behind a metric: those it counted above the line (``numerator``),
    below it (``denominator``), or below and not above (``rest``: the unresolved, the ones
    without a thumbs-down...). For a turn metric, the conversations with such a turn in the
    period; latency lists the conversations with any turn. Newest first."""
    if side not in SIDES:
        raise ApplicationError(f"side must be one of {', '.join(SIDES)}.")
    level = metrics.metric_level(metric)
    if level is None:
        raise ApplicationError(f"No such metric: {metric}.", code="unknown_metric")
    narrowed = _bucket_filters(workspace, filters, bucket, bucket_start)
    if level == "conversation":
        rows = fact_list(workspace=workspace, filters=narrowed).filter(
            _pick(CONVERSATION_SETS[metric], side)
        )
    else:
        turns = turn_list(workspace=workspace, filters=narrowed)
        sets = TURN_SETS.get(metric, (_ALL, _ALL))
        if side == "rest":
            numerator, denominator = sets
            matching = turns.filter(denominator).exclude(
                conversation_id__in=turns.filter(numerator).values("conversation_id")
            )
        else:
            matching = turns.filter(_pick(sets, side))
        rows = ConversationFact.objects.filter(workspace=workspace).filter(
            Exists(matching.filter(conversation_id=OuterRef("conversation_id")))
        )
    return rows.select_related("conversation").order_by("-started_at", "-conversation_id")


def _trace_view(trace: TurnTrace, min_confidence: float) -> dict[str, Any]:
    data = trace.data or {}
    nlu = data.get("nlu") or {}
    return {
        "id": trace.pk,
        "created_at": trace.created_at.isoformat(),
        "customer_message_id": trace.customer_message_id,
        "reply_message_id": trace.reply_message_id,
        "intent": trace.intent,
        "intent_score": trace.intent_score,
        "intents": nlu.get("intents", []),
        "oos": nlu.get("oos"),
        "oos_score": nlu.get("oos_score"),
        # Traces don't record the threshold they were routed by: the workspace's current one.
        "min_confidence_now": min_confidence,
        "slots": nlu.get("slots", []),
        "sentiment": nlu.get("sentiment"),
        "nlu_model": nlu.get("model"),
        "route": trace.route,
        "route_reason": (data.get("route") or {}).get("reason", ""),
        "handler": {k: v for k, v in (data.get("handler") or {}).items() if k != "summary"},
        "sources": data.get("sources", []),
        "generator": data.get("generator", {}),
        "guard": data.get("guard", {}),
        "inbound": data.get("inbound", {}),
        "latency_ms": data.get("latency_ms", {}),
        "explanation": data.get("explanation"),
    }


def drilldown_conversation(*, workspace: Workspace, conversation_id: int) -> dict[str, Any]:
    """One conversation of the workspace: its messages (as stored: customers' redacted), its
    facts, and each bot turn's trace."""
    conversation = Conversation.objects.filter(workspace=workspace, id=conversation_id).first()
    if conversation is None:
        raise NotFound("No such conversation in this workspace.")
    fact = ConversationFact.objects.filter(conversation=conversation).first()
    settings_row = DialogueSettings.objects.filter(workspace=workspace).first()
    min_confidence = (
        settings_row.min_confidence if settings_row else DialogueSettings().min_confidence
    )
    feedback = {
        f.message_id: {"rating": f.rating, "reason": f.reason}
        for f in MessageFeedback.objects.filter(message__conversation=conversation)
    }
    messages = [
        {
            "id": m.pk,
            "sender": m.sender,
            "text": m.text,
            "created_at": m.created_at.isoformat(),
            "pii_found": m.pii_found,
            "feedback": feedback.get(m.pk),
        }
        for m in Message.objects.filter(conversation=conversation).order_by("created_at", "id")
    ]
    traces = TurnTrace.objects.filter(conversation=conversation).order_by("created_at", "id")
    return {
        "id": conversation.pk,
        "status": conversation.status,
        "created_at": conversation.created_at.isoformat(),
        "closed_at": conversation.closed_at.isoformat() if conversation.closed_at else None,
        "handoff_reason": conversation.handoff_reason,
        "csat_score": conversation.csat_score,
        "csat_comment": conversation.csat_comment,
        "facts": (
            {
                "language": fact.language,
                "handoff_category": fact.handoff_category,
                "settled": fact.settled,
                "ended_at": fact.ended_at.isoformat() if fact.ended_at else None,
                "resolved": fact.resolved,
                "reopened": fact.reopened,
                "durable": fact.durable,
                "durable_known": fact.durable_known,
                "agent_first_response_s": fact.agent_first_response_s,
            }
            if fact
            else None
        ),
        "messages": messages,
        "turns": [_trace_view(t, min_confidence) for t in traces],
    }
