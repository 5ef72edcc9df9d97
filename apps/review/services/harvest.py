"""Harvest: the customer turns the bot was unsure of become review items, and behaviour becomes
weak labels. Safe to run any number of times: it recomputes both from what is stored.

Every turn trace of the workspace from the last ``ReviewSettings.lookback_days`` whose customer
message is still stored is looked at. A turn is queued (one ``ReviewItem`` per turn, with every
reason that applies) when:

- ``low_confidence``: the trace's top intent scored below ``ReviewSettings.low_confidence``;
- ``out_of_scope``: the NLU read it as out of scope (``data.nlu.oos``);
- ``clarify``: it was routed to clarify;
- ``thumbs_down``: the customer gave the bot's reply a thumbs-down;
- ``handoff_after_answer``: it is the conversation's *judged turn* (below) and was answered
  (route ``faq``, ``answer`` or ``flow``);
- ``agent_corrected``: it is the judged turn and the agent's ``HandoffOutcome`` marks the bot's
  answer wrong, or names a resolved intent other than the turn's predicted intent.

The *judged turn* of a handed-off conversation is its last traced turn at or before
``Conversation.handoff_requested_at`` whose route is not ``handoff`` (the customer's "a person,
please" is not what went wrong; the turn before it is).

Weak labels (``WeakLabel``, never mixed with reviewed labels), one per rule and turn:

- ``thumbs_up_knowledge_answer``: a thumbs-up on a reply routed ``faq`` or ``answer``, not read
  as out of scope, confirms the turn's predicted intent; with no predicted intent it confirms
  only that the text is in scope (``intent=""``).
- ``agent_resolved_intent``: the agent's outcome names a resolved intent: the judged turn's text
  is that intent.
- ``agent_marked_wrong``: the agent marks the bot's answer wrong and the judged turn had a
  predicted intent that the agent did not name as the resolved one: the text is *not* that
  intent (``negative=True``). When the agent resolves under the predicted intent itself, the
  intent was right and the answer (the article) was wrong: no intent label is read from it.

An item whose reasons have all gone (a thumbs-down changed to a thumbs-up) is removed unless
someone has labelled it; a weak label whose evidence has gone is removed.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Membership, Workspace
from apps.chat.models import Conversation
from apps.dialogue.models import TurnTrace
from apps.feedback.models import MessageFeedback
from apps.review.models import HandoffOutcome, ReviewItem, WeakLabel
from apps.review.selectors import LABELLER_ROLES, review_settings_get
from apps.review.services.priority import (
    review_items_cluster,
    review_items_embed,
    turn_uncertainty,
)

ANSWER_ROUTES = frozenset({"faq", "answer", "flow"})
KNOWLEDGE_ROUTES = frozenset({"faq", "answer"})
Reason = ReviewItem.Reason
Rule = WeakLabel.Rule


@dataclass(frozen=True)
class HarvestResult:
    created: int
    updated: int
    removed: int
    weak_labels: int
    clusters: int


def double_label_draw(*, workspace_id: int, trace_id: int) -> float:
    """A stable number in [0, 1) per turn: the item is double-labelled when it is below the
    workspace's share (the same turn always draws the same number)."""
    digest = hashlib.sha256(f"review:{workspace_id}:{trace_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class _Turn:
    trace: TurnTrace
    nlu: dict[str, Any]


def _judged_turns(workspace: Workspace, turns: list[_Turn], since: datetime) -> dict[int, _Turn]:
    """conversation id -> its judged turn (see the module docstring)."""
    handoff_at = dict(
        Conversation.objects.filter(
            workspace=workspace, handoff_requested_at__gte=since
        ).values_list("id", "handoff_requested_at")
    )
    judged: dict[int, _Turn] = {}
    for turn in sorted(turns, key=lambda t: (t.trace.created_at, t.trace.id)):
        at = handoff_at.get(turn.trace.conversation_id)
        if at is not None and turn.trace.created_at <= at and turn.trace.route != "handoff":
            judged[turn.trace.conversation_id] = turn
    return judged


def _weak(turn: _Turn, rule: str, intent: str, negative: bool = False) -> dict[str, Any]:
    assert turn.trace.customer_message is not None
    return {
        "trace_id": turn.trace.id,
        "rule": rule,
        "text": turn.trace.customer_message.text,
        "intent": intent,
        "negative": negative,
    }


def _signals(
    *, workspace: Workspace, turns: list[_Turn], since: datetime, low_confidence: float
) -> tuple[dict[int, list[str]], list[dict[str, Any]]]:
    """trace id -> reasons (in ``Reason`` order), and the weak labels to hold."""
    # Replies are stored a moment before their trace: an hour's margin finds them all.
    ratings = dict(
        MessageFeedback.objects.filter(
            workspace=workspace, message__created_at__gte=since - timedelta(hours=1)
        ).values_list("message_id", "rating")
    )
    judged = _judged_turns(workspace, turns, since)
    outcomes = {
        o.conversation_id: o
        for o in HandoffOutcome.objects.filter(workspace=workspace, conversation_id__in=judged)
    }
    reasons: dict[int, set[str]] = defaultdict(set)
    weak: list[dict[str, Any]] = []
    for turn in turns:
        trace, found = turn.trace, reasons[turn.trace.id]
        if trace.intent_score is not None and trace.intent_score < low_confidence:
            found.add(Reason.LOW_CONFIDENCE)
        if turn.nlu.get("oos"):
            found.add(Reason.OUT_OF_SCOPE)
        if trace.route == "clarify":
            found.add(Reason.CLARIFY)
        rating = ratings.get(trace.reply_message_id or 0)
        if rating == MessageFeedback.Rating.DOWN:
            found.add(Reason.THUMBS_DOWN)
        if (
            rating == MessageFeedback.Rating.UP
            and trace.route in KNOWLEDGE_ROUTES
            and not turn.nlu.get("oos")
        ):
            weak.append(_weak(turn, Rule.THUMBS_UP_KNOWLEDGE_ANSWER, trace.intent))
    for conversation_id, turn in judged.items():
        trace, found = turn.trace, reasons[turn.trace.id]
        if trace.route in ANSWER_ROUTES:
            found.add(Reason.HANDOFF_AFTER_ANSWER)
        outcome = outcomes.get(conversation_id)
        if outcome is None:
            continue
        resolved = outcome.resolved_intent
        if outcome.bot_answer_wrong or (resolved and resolved != trace.intent):
            found.add(Reason.AGENT_CORRECTED)
        if resolved:
            weak.append(_weak(turn, Rule.AGENT_RESOLVED_INTENT, resolved))
        if outcome.bot_answer_wrong and trace.intent and resolved != trace.intent:
            weak.append(_weak(turn, Rule.AGENT_MARKED_WRONG, trace.intent, negative=True))
    order = list(Reason.values)
    return {
        trace_id: sorted(found, key=order.index) for trace_id, found in reasons.items() if found
    }, weak


def _labeller_count(workspace: Workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role__in=LABELLER_ROLES).count()


@transaction.atomic
def _items_sync(
    *,
    workspace: Workspace,
    turns: list[_Turn],
    since: datetime,
    reasons: dict[int, list[str]],
    share: float,
) -> tuple[int, int, int]:
    existing = {
        item.trace_id: item
        for item in ReviewItem.objects.select_for_update().filter(
            workspace=workspace, trace__created_at__gte=since
        )
    }
    can_double = _labeller_count(workspace) >= 2
    created = updated = 0
    for turn in turns:
        trace, wanted = turn.trace, reasons.get(turn.trace.id)
        item = existing.get(trace.id)
        if not wanted:
            continue
        if item is None:
            assert trace.customer_message is not None
            double = (
                can_double
                and double_label_draw(workspace_id=workspace.pk, trace_id=trace.id) < share
            )
            ReviewItem.objects.create(
                workspace=workspace,
                trace=trace,
                text=trace.customer_message.text,
                reasons=wanted,
                route=trace.route,
                predicted_intent=trace.intent,
                suggestions=list(turn.nlu.get("intents") or []),
                predicted_slots=list(turn.nlu.get("slots") or []),
                uncertainty=turn_uncertainty(turn.nlu),
                labels_required=2 if double else 1,
                turn_at=trace.created_at,
            )
            created += 1
        elif item.reasons != wanted:
            item.reasons = wanted
            item.save(update_fields=["reasons", "updated_at"])
            updated += 1
    gone = [
        item.id
        for trace_id, item in existing.items()
        if trace_id not in reasons and item.status == ReviewItem.Status.OPEN
    ]
    _, deleted = ReviewItem.objects.filter(id__in=gone, labels__isnull=True).delete()
    return created, updated, deleted.get(ReviewItem._meta.label, 0)


@transaction.atomic
def _weak_labels_sync(
    *, workspace: Workspace, since: datetime, wanted: list[dict[str, Any]]
) -> int:
    keys = {(w["trace_id"], w["rule"]) for w in wanted}
    stale = [
        label.id
        for label in WeakLabel.objects.filter(workspace=workspace, trace__created_at__gte=since)
        if (label.trace_id, label.rule) not in keys
    ]
    WeakLabel.objects.filter(id__in=stale).delete()
    for fields in wanted:
        WeakLabel.objects.update_or_create(
            trace_id=fields["trace_id"],
            rule=fields["rule"],
            defaults={
                "workspace": workspace,
                "text": fields["text"],
                "intent": fields["intent"],
                "negative": fields["negative"],
            },
        )
    return len(wanted)


def review_harvest(*, workspace: Workspace, now: datetime | None = None) -> HarvestResult:
    """Queues the workspace's unsure turns, refreshes the weak labels, then embeds new items and
    re-clusters (see the module docstrings of this module and ``priority``)."""
    config = review_settings_get(workspace=workspace)
    since = (now or timezone.now()) - timedelta(days=config.lookback_days)
    traces = (
        TurnTrace.objects.filter(
            workspace=workspace, created_at__gte=since, customer_message__isnull=False
        )
        .select_related("customer_message")
        .order_by("created_at", "id")
    )
    turns = [_Turn(trace, (trace.data or {}).get("nlu") or {}) for trace in traces]
    reasons, weak = _signals(
        workspace=workspace, turns=turns, since=since, low_confidence=config.low_confidence
    )
    created, updated, removed = _items_sync(
        workspace=workspace,
        turns=turns,
        since=since,
        reasons=reasons,
        share=config.double_label_share,
    )
    weak_count = _weak_labels_sync(workspace=workspace, since=since, wanted=weak)
    review_items_embed(workspace=workspace)
    clusters = review_items_cluster(workspace=workspace)
    return HarvestResult(created, updated, removed, weak_count, clusters)
