"""Dialogue state tracking: what the customer wants so far, updated from each turn's NLU output.

The state is a plain frozen value (stored as JSON by the app, so any worker can take the next
turn). ``state_update`` is a pure function: (state, this turn's NLU result, what the bot asked)
-> new state. Rules, in order:

1. **Carry-over**: a slot keeps its value until the customer gives a new one.
2. **New values**: a slot span from NLU, mapped to a canonical value by the workspace's slot
   vocabulary (synonyms), replaces the old value. A value the bot had confirmed becomes
   unconfirmed when it changes.
3. **Don't care**: "any area", "I don't mind the price", "doesn't matter" set a slot to
   ``dontcare``: the slots the message names, else the slot the bot just asked about.
4. **Correction**: "no, the other card" / "not X, Y" marks the turn a correction; a bare "no"
   to a confirmation question rejects the pending confirmation.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ml.nlu.contracts import NluResult

DONTCARE = "dontcare"
HISTORY_KEPT = 20

_DONTCARE_ANY = re.compile(
    r"\b(?:don'?t|do not|doesn'?t|does not)\s+(?:really\s+)?(?:care|mind|matter)\b"
    r"|\bno\s+(?:particular\s+|real\s+|specific\s+)?preference\b|\bnot\s+(?:important|picky)\b"
    r"|\bwhichever\b|\bwhatever\b|\bany\s+(?:is|will be)\s+(?:fine|ok|okay)\b"
    r"|\bdoesn'?t\s+matter\b",
    re.IGNORECASE,
)
_CORRECTION = re.compile(
    r"^\s*(?:no|nope|not|actually|sorry|wait|i meant|i mean|rather|instead)\b"
    r"|\binstead\b|\bthe other\b",
    re.IGNORECASE,
)
_NO = re.compile(
    r"^\s*(?:no|nope|nah|wrong|incorrect|that'?s not right|不|不是|不对)\b", re.IGNORECASE
)
_YES = re.compile(
    r"^\s*(?:yes|yeah|yep|sure|correct|right|ok|okay|please do|go ahead|confirm|是|对|好的?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SlotValue:
    value: str
    confidence: float
    turn: int
    confirmed: bool = False


@dataclass(frozen=True)
class DialogueState:
    turn: int = 0
    active_intent: str | None = None
    intent_history: tuple[str, ...] = ()
    slots: Mapping[str, SlotValue] = field(default_factory=dict)
    pending_question: str | None = None  # "slot:<name>", "confirm:<flow>" or None
    low_confidence_turns: int = 0  # consecutive
    negative_turns: int = 0  # consecutive
    summary: str = ""
    last_correction: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "active_intent": self.active_intent,
            "intent_history": list(self.intent_history),
            "slots": {
                name: {
                    "value": s.value,
                    "confidence": s.confidence,
                    "turn": s.turn,
                    "confirmed": s.confirmed,
                }
                for name, s in self.slots.items()
            },
            "pending_question": self.pending_question,
            "low_confidence_turns": self.low_confidence_turns,
            "negative_turns": self.negative_turns,
            "summary": self.summary,
            "last_correction": self.last_correction,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> "DialogueState":
        if not raw:
            return cls()
        return cls(
            turn=int(raw.get("turn", 0)),
            active_intent=raw.get("active_intent"),
            intent_history=tuple(raw.get("intent_history", ())),
            slots={
                name: SlotValue(
                    value=str(s["value"]),
                    confidence=float(s["confidence"]),
                    turn=int(s["turn"]),
                    confirmed=bool(s.get("confirmed", False)),
                )
                for name, s in raw.get("slots", {}).items()
            },
            pending_question=raw.get("pending_question"),
            low_confidence_turns=int(raw.get("low_confidence_turns", 0)),
            negative_turns=int(raw.get("negative_turns", 0)),
            summary=str(raw.get("summary", "")),
            last_correction=bool(raw.get("last_correction", False)),
        )

    def values(self) -> dict[str, str]:
        return {name: s.value for name, s in self.slots.items()}


@dataclass(frozen=True)
class SlotVocabulary:
    """How a workspace names a slot's values: canonical value -> the ways customers say it, and
    the words that mention the slot itself ("area", "part of town")."""

    values: Mapping[str, Sequence[str]] = field(default_factory=dict)
    mentions: Sequence[str] = ()

    def find(self, text: str) -> tuple[str, int] | None:
        """A value the text names (the longest surface form wins), with its position."""
        lowered = text.lower()
        best: tuple[str, int, int] | None = None
        for value, forms in self.values.items():
            for form in (value, *forms):
                match = re.search(rf"(?<![\w-]){re.escape(form.lower())}(?![\w-])", lowered)
                if match and (best is None or len(form) > best[2]):
                    best = (value, match.start(), len(form))
        return (best[0], best[1]) if best else None

    def canonical(self, surface: str) -> str:
        text = surface.lower().strip(" .,!?;:'\"")
        for value, forms in self.values.items():
            if text == value.lower() or text in (f.lower() for f in forms):
                return value
        return text


def is_yes(text: str) -> bool:
    return bool(_YES.search(text))


def is_no(text: str) -> bool:
    return bool(_NO.search(text))


def _mentioned(text: str, vocabularies: Mapping[str, SlotVocabulary]) -> list[str]:
    lowered = text.lower()
    return [
        slot
        for slot, vocabulary in vocabularies.items()
        if any(re.search(rf"\b{re.escape(m.lower())}\b", lowered) for m in vocabulary.mentions)
    ]


def _dontcare_slots(
    text: str, vocabularies: Mapping[str, SlotVocabulary], asked: Sequence[str]
) -> list[str]:
    lowered = text.lower()
    slots = []
    for slot, vocabulary in vocabularies.items():
        for mention in vocabulary.mentions:
            if re.search(rf"\bany\s+(?:\w+\s+)?{re.escape(mention.lower())}\b", lowered):
                slots.append(slot)
                break
    if _DONTCARE_ANY.search(text):
        named = _mentioned(text, vocabularies)
        slots += named or [s for s in asked if s in vocabularies]
    return list(dict.fromkeys(slots))


def state_update(
    state: DialogueState,
    nlu: NluResult,
    *,
    vocabularies: Mapping[str, SlotVocabulary] | None = None,
    asked: Sequence[str] = (),
    low_confidence: float = 0.5,
) -> DialogueState:
    """The state after one customer turn. ``asked``: the slots the bot's last message asked for."""
    vocabularies = vocabularies or {}
    turn = state.turn + 1
    slots = dict(state.slots)
    correction = bool(_CORRECTION.search(nlu.text))
    for span in nlu.slots:
        vocabulary = vocabularies.get(span.slot)
        value = vocabulary.canonical(span.value) if vocabulary else span.value.strip()
        if not value:
            continue
        confidence = nlu.confidence if nlu.intents else 1.0
        old = slots.get(span.slot)
        slots[span.slot] = SlotValue(
            value=value,
            confidence=round(confidence, 4),
            turn=turn,
            confirmed=bool(old and old.value == value and old.confirmed),
        )
    # The workspace's dictionary catches values the tagger missed ("reasonably priced").
    tagged = {span.slot for span in nlu.slots}
    for slot, vocabulary in vocabularies.items():
        if slot in tagged or not vocabulary.values:
            continue
        found = vocabulary.find(nlu.text)
        if found is not None:
            old = slots.get(slot)
            slots[slot] = SlotValue(
                value=found[0],
                confidence=1.0,
                turn=turn,
                confirmed=bool(old and old.value == found[0] and old.confirmed),
            )
    for slot in _dontcare_slots(nlu.text, vocabularies, asked):
        if slot not in {s.slot for s in nlu.slots}:
            slots[slot] = SlotValue(value=DONTCARE, confidence=1.0, turn=turn)
    intent = nlu.intent
    history = state.intent_history
    if intent is not None:
        history = (*history, intent)[-HISTORY_KEPT:]
    low = (nlu.is_oos or nlu.confidence < low_confidence) and not nlu.slots
    return replace(
        state,
        turn=turn,
        active_intent=intent or state.active_intent,
        intent_history=history,
        slots=slots,
        low_confidence_turns=state.low_confidence_turns + 1 if low else 0,
        negative_turns=state.negative_turns + 1 if nlu.sentiment == "negative" else 0,
        last_correction=correction,
    )
