"""Routing: which handler answers a turn, and why (the reason goes into the turn trace).

Rules, first match wins:

1. explicit request for a person (a handoff intent, or the words; a question whether the bot
   is a person is neither) -> ``handoff``
2. an intent the workspace marks sensitive -> ``handoff``
3. strongly negative, for ``max_negative_turns`` turns in a row -> ``handoff``
4. a flow is waiting for an answer and the message doesn't confidently switch topic -> ``flow``
5. out of scope or low confidence: ``clarify`` (ask to rephrase), then after
   ``max_low_confidence_turns`` such turns in a row -> ``handoff``
6. a flow intent -> ``flow``; a small-talk intent -> ``smalltalk``; any other intent -> ``faq``
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ml.dialogue.flows import FlowSpec
from ml.dialogue.state import DialogueState
from ml.nlu.contracts import NluResult

_PERSON = r"(?:human|person|agent|representative|rep|operator|staff(?:\s+member)?|someone|somebody)"
HANDOFF_WORDS = re.compile(
    # "talk to a (customer service) person", "chat with somebody"
    rf"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:a\s+|an\s+|the\s+|some\s+)?(?:\w+\s+){{0,2}}?{_PERSON}\b"
    # "put me through to an agent", "transfer me to a human", "get me a person"
    rf"|\b(?:get|put|transfer|pass|connect|switch|send)\s+me\s+(?:to\s+|through\s+to\s+|with\s+)?"
    rf"(?:a\s+|an\s+|the\s+)?(?:\w+\s+){{0,2}}?{_PERSON}\b"
    r"|\b(?:human|live|real)\s+(?:agent|person|being|representative|rep)\b|\bhuman\b"
    r"|^\s*(?:operator|agent|representative)(?:\s+please)?\s*[.!?]*\s*$"
    r"|转人工|人工客服|找人工|真人",
    re.IGNORECASE,
)
# "Are you a human?" is a question about the bot, not a request for a person.
_ASKS_IF_HUMAN = re.compile(
    r"\b(?:are\s+you|you\s+are|you'?re|regard\s+you|"
    r"am\s+i\s+(?:talking|speaking|chatting)\s+(?:to|with))\b.{0,20}"
    r"\b(?:human|real|person|bot|ai|robot|machine)\b",
    re.IGNORECASE,
)


def asks_for_person(text: str) -> bool:
    """Words asking for a person, outside any question about whether the bot is one ("are you
    a human? put me through to a person" asks; "am I talking to a bot?" doesn't)."""
    return bool(HANDOFF_WORDS.search(_ASKS_IF_HUMAN.sub(" ", text)))


@dataclass(frozen=True)
class RoutingConfig:
    flows: Mapping[str, FlowSpec] = field(default_factory=dict)  # by intent
    smalltalk_intents: frozenset[str] = frozenset()
    handoff_intents: frozenset[str] = frozenset()
    sensitive_intents: frozenset[str] = frozenset()
    min_confidence: float = 0.5
    switch_confidence: float = 0.85  # leaving a flow half-way needs this much confidence
    max_low_confidence_turns: int = 2
    negative_threshold: float = 0.8
    max_negative_turns: int = 2


@dataclass(frozen=True)
class Route:
    name: str  # faq | flow | smalltalk | clarify | handoff
    reason: str
    intent: str | None = None
    flow: str | None = None


def _pending_flow(state: DialogueState) -> str | None:
    pending = state.pending_question or ""
    if pending.startswith(("slot:", "confirm:")):
        return pending.split(":")[1]
    return None


def route_decide(state: DialogueState, nlu: NluResult, config: RoutingConfig) -> Route:
    """``state`` is the state after this turn's update."""
    intent = nlu.intent
    score = f"{nlu.confidence:.2f}"
    asks = asks_for_person(nlu.text)
    # "Am I talking to a bot?": models trained on requests for a person often read this as one,
    # so the intent alone doesn't hand over then.
    handoff_intent = intent in config.handoff_intents and (
        asks or not _ASKS_IF_HUMAN.search(nlu.text)
    )
    if asks or handoff_intent:
        why = f"intent {intent} ({score})" if intent in config.handoff_intents else "the words"
        return Route("handoff", f"the customer asked for a person ({why})", intent)
    if intent and intent in config.sensitive_intents:
        return Route("handoff", f"intent {intent} ({score}) is marked sensitive", intent)
    negative = nlu.sentiment_scores.get("negative", 0.0)
    if state.negative_turns >= config.max_negative_turns and negative >= config.negative_threshold:
        return Route(
            "handoff",
            f"negative sentiment ({negative:.2f}) for {state.negative_turns} turns in a row",
            intent,
        )
    waiting = _pending_flow(state)
    if waiting is not None:
        flow = next((f for f in config.flows.values() if f.name == waiting), None)
        switching = (
            intent is not None
            and intent != (flow.intent if flow else None)
            and nlu.confidence >= config.switch_confidence
            and not nlu.slots
        )
        if flow is not None and not switching:
            return Route(
                "flow",
                f"flow {flow.name} is waiting for {state.pending_question}",
                flow.intent,
                flow.name,
            )
    if nlu.is_oos or intent is None or nlu.confidence < config.min_confidence:
        why = (
            f"out of scope ({nlu.oos_score:.2f})"
            if nlu.is_oos
            else f"low confidence ({score} < {config.min_confidence})"
        )
        if state.low_confidence_turns >= config.max_low_confidence_turns:
            return Route("handoff", f"{why}, {state.low_confidence_turns} turns in a row", intent)
        return Route("clarify", why, intent)
    if intent in config.flows:
        flow = config.flows[intent]
        return Route(
            "flow", f"intent {intent} ({score}) starts flow {flow.name}", intent, flow.name
        )
    if intent in config.smalltalk_intents:
        return Route("smalltalk", f"intent {intent} ({score}) is small talk", intent)
    return Route("faq", f"intent {intent} ({score}) is answered from the knowledge base", intent)
