"""Routing: which handler answers a turn, and why (the reason goes into the turn trace).

Rules, first match wins:

1. explicit request for a person (conversation control's ``ask_human``, a handoff intent, or the
   words; a question whether the bot is a person is neither) -> ``handoff``
2. an intent the workspace marks sensitive, read first even when flagged out of scope ->
   ``handoff``
3. strongly negative, for ``max_negative_turns`` turns in a row -> ``handoff``
4. a flow is waiting for an answer: yes, no, cancel and the answer itself go to it (``flow``);
   conversation ("thanks", "are you a bot?") is answered (``smalltalk``) and a question that
   confidently switches topic is answered (``faq``), and the flow resumes after either
5. "yes" to the bot's offer of a person -> ``handoff``; any other conversation-control act
   (greeting, thanks, goodbye, ok, "are you a bot?", "what can you do?") -> ``smalltalk``; these
   never count as low-confidence turns
6. a message in a language the workspace's model doesn't read -> ``decline`` (says what the bot
   can do, in that language, and offers a person)
7. one of a flow's trigger phrasings -> ``flow``
8. out of scope or low confidence: ``clarify`` (ask to rephrase), then after
   ``max_low_confidence_turns`` such turns in a row -> ``handoff``
9. a flow intent -> ``flow``; a small-talk intent -> ``smalltalk``; any other intent -> ``faq``
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ml.dialogue.control import ASKS_IF_HUMAN, ControlAct, asks_for_person
from ml.dialogue.flows import FlowSpec
from ml.dialogue.state import DialogueState, is_no, is_yes
from ml.dialogue.triggers import TriggerMatch
from ml.nlu.contracts import NluResult

OFFERED_PERSON = "offer:handoff"  # the pending question after the bot offered a person
# A question whose embedding is this close to an article title's is that article's question
# (MaxKB answers directly above 0.9); measured in benchmarks/near_match_eval.py.
NEAR_MATCH_THRESHOLD = 0.9


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
    languages: frozenset[str] = frozenset({"en"})  # what the workspace's intent model reads


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


QUESTION = re.compile(
    r"\?\s*$|^\s*(?:and\s+|but\s+|so\s+|also\s+)?(?:how|what|when|where|why|which|who|whats|"
    r"can|could|do|does|did|is|are|will|would|should|may)\b",
    re.IGNORECASE,
)


# A question about how something works, not a request to do it now: "how do I cancel a
# transfer?", "is it possible to cancel one after it's sent?".
HOW_QUESTION = re.compile(
    r"^\s*(?:(?:and|so|but|also|just)\s+)?(?:how\s+(?:do|does|can|could|would|long)\b|"
    r"is\s+it\s+possible\b|what\s+happens\b|is\s+there\s+a\s+way\b|"
    r"can\s+(?:i|you|one|we)\s+(?:\w+\s+){0,2}(?:a|an|any)\s)",
    re.IGNORECASE,
)


def gives_details(flow: FlowSpec, text: str) -> bool:
    """Whether the message holds a value for one of the flow's pattern slots."""
    return any(
        (value := slot.parse(text)) is not None and slot.valid(value)
        for slot in flow.slots
        if slot.pattern
    )


def _answers(flow: FlowSpec, state: DialogueState, text: str) -> bool:
    """Whether the message answers what the flow waits for: a valid value for the slot asked
    about, or, at the confirmation, yes, no or a new value for any slot."""
    pending = state.pending_question or ""
    if pending.startswith("confirm:"):
        return is_yes(text) or is_no(text) or gives_details(flow, text)
    name = pending.split(":")[2] if pending.count(":") == 2 else ""
    slot = next((s for s in flow.slots if s.name == name), None)
    return slot is not None and (value := slot.parse(text)) is not None and slot.valid(value)


def route_decide(
    state: DialogueState,
    nlu: NluResult,
    config: RoutingConfig,
    *,
    control: ControlAct | None = None,
    trigger: TriggerMatch | None = None,
) -> Route:
    """``state`` is the state after this turn's update; ``control``: the message's conversation
    act; ``trigger``: a flow trigger phrasing found in it."""
    act = control.act if control else None
    if act == "ask_human":
        mood = ", angry" if control and control.angry else ""
        return Route("handoff", f"the customer asked for a person (conversation control{mood})")
    intent = nlu.intent
    score = f"{nlu.confidence:.2f}"
    # Conversation control has read the message already ("你们是真人吗" asks about the bot).
    asks = act is None and asks_for_person(nlu.text)
    # "Am I talking to a bot?": models trained on requests for a person often read this as one,
    # so the intent alone doesn't hand over then.
    handoff_intent = intent in config.handoff_intents and (
        asks or not ASKS_IF_HUMAN.search(nlu.text)
    )
    if asks or handoff_intent:
        why = f"intent {intent} ({score})" if intent in config.handoff_intents else "the words"
        return Route("handoff", f"the customer asked for a person ({why})", intent)
    top = nlu.intents[0].intent if nlu.intents else None
    if act is None and top is not None and top in config.sensitive_intents:
        # Flagged out of scope too: a person handles a complaint or a fraud read wrongly at
        # little cost, the bot asking a furious customer to rephrase at a large one.
        return Route("handoff", f"intent {top} ({score}) is marked sensitive", top)
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
        at_confirm = (state.pending_question or "").startswith("confirm:")
        # "ok" to "Shall I look up order 48213570?" is a yes.
        if flow is not None and (
            act in ("affirm", "deny", "cancel") or (act == "ack" and at_confirm)
        ):
            return Route("flow", f"{act} for flow {flow.name}", flow.intent, flow.name)
        if flow is not None and act is not None:
            return Route("smalltalk", f"conversation control: {act} (flow {flow.name} waits)")
        # An answer to the bot's question stays in the flow whatever the intent model reads
        # into it ("ok here it is 55301264"); a question about something else ("how long do
        # transfers take?") leaves it for a turn, confidently asked or asked as a question.
        other = (
            intent is not None
            and intent != (flow.intent if flow else None)
            and not nlu.slots
            and (
                nlu.confidence >= config.switch_confidence
                or (
                    QUESTION.search(nlu.text) is not None
                    and not nlu.is_oos
                    and nlu.confidence >= config.min_confidence
                )
            )
        )
        switching = not (flow is not None and _answers(flow, state, nlu.text)) and (
            other or (trigger is not None and trigger.key != waiting)
        )
        if flow is not None and not switching:
            return Route(
                "flow",
                f"flow {flow.name} is waiting for {state.pending_question}",
                flow.intent,
                flow.name,
            )
    if act in ("affirm", "ack") and state.pending_question == OFFERED_PERSON:
        return Route("handoff", "the customer accepted the offer of a person")
    if act is not None:
        return Route("smalltalk", f"conversation control: {act}")
    if trigger is not None:
        flow = next(f for f in config.flows.values() if f.name == trigger.key)
        return Route(
            "flow",
            f"trigger phrasing {trigger.phrase!r} ({trigger.score:.2f}) starts flow {flow.name}",
            flow.intent,
            flow.name,
        )
    if control is not None and control.language not in config.languages:
        return Route(
            "decline",
            f"language {control.language}: the workspace's model reads "
            f"{', '.join(sorted(config.languages))}",
        )
    if top is not None and top in config.flows:
        flow = config.flows[top]
        # Unsure of the intent (or reading it as out of scope), but the message holds the
        # flow's details ("still nothing, order #903311"): the flow starts, and asks to confirm.
        unsure = nlu.is_oos or nlu.confidence < config.min_confidence
        if unsure and gives_details(flow, nlu.text):
            return Route(
                "flow",
                f"top intent {top} ({score}) with the details of flow {flow.name}",
                top,
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
