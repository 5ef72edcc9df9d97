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

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NamedTuple

from ml.nlu.contracts import NluResult

DONTCARE = "dontcare"
HISTORY_KEPT = 20

_DONTCARE_ANY = re.compile(
    r"\b(?:don'?t|do not|doesn'?t|does not)\s+(?:really\s+)?(?:care|mind|matter)\b"
    r"|\bno\s+(?:particular\s+|real\s+|specific\s+)?preference\b|\bnot\s+(?:important|picky)\b"
    r"|\bwhichever\b|\bwhatever\b|\bany\s+(?:is|will be)\s+(?:fine|ok|okay)\b"
    r"|\bdoesn'?t\s+matter\b|\bdon'?t\s+have\s+(?:a|any)\b|\bno\s+(?:issue|problem)s?\s+with\b",
    re.IGNORECASE,
)
_CORRECTION = re.compile(
    r"^\s*(?:no|nope|not|actually|sorry|wait|i meant|i mean|rather|instead)\b"
    r"|\binstead\b|\bthe other\b",
    re.IGNORECASE,
)
# Chinese words have no \b between them ("是的", "不对"): they match at the start alone.
_NO = re.compile(
    r"^\s*(?:no|nope|nah|wrong|incorrect|that'?s not right)\b|^\s*(?:不|否|错)", re.IGNORECASE
)
_YES = re.compile(
    r"^\s*(?:yes|yeah|yep|yup|sure|correct|right|ok|okay|please do|go ahead|confirm|do it)\b"
    r"|^\s*(?:是|对|好|确认|确定|可以|没错|嗯|行)",
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
    language: str = "en"  # the customer's, from the last message that had words

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
            "language": self.language,
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
            language=str(raw.get("language", "en")),
        )

    def values(self) -> dict[str, str]:
        return {name: s.value for name, s in self.slots.items()}


@dataclass(frozen=True)
class SlotVocabulary:
    """How a workspace names a slot's values: canonical value -> the ways customers say it, the
    words that mention the slot itself ("area", "part of town"), and phrases that mean any value
    will do ("anywhere"). A slot with values is closed: only those values are accepted."""

    values: Mapping[str, Sequence[str]] = field(default_factory=dict)
    mentions: Sequence[str] = ()
    dontcare: Sequence[str] = ()

    @cached_property
    def _forms(self) -> list[tuple[str, str]]:
        """(surface form, value), longest forms first; built once per vocabulary."""
        forms = [(f.lower(), value) for value, fs in self.values.items() for f in (value, *fs)]
        return sorted(forms, key=lambda fv: -len(fv[0]))

    def find_all(self, text: str) -> list[tuple[str, int, int]]:
        """Every value the text names, as (value, start, end), longest surface forms first
        where two overlap, in the order they appear."""
        lowered = text.lower()
        found: list[tuple[str, int, int]] = []
        for form, value in self._forms:
            for match in re.finditer(rf"(?<![\w-]){re.escape(form)}(?![\w-])", lowered):
                if all(match.end() <= s or match.start() >= e for _, s, e in found):
                    found.append((value, match.start(), match.end()))
        return sorted(found, key=lambda f: f[1])

    def canonical(self, surface: str) -> str:
        text = surface.lower().strip(" .,!?;:'\"")
        for value, forms in self.values.items():
            if text == value.lower() or text in (f.lower() for f in forms):
                return value
        return text

    def resolve(self, surface: str, text: str = "", start: int = -1, end: int = -1) -> str | None:
        """The value a tagged span means. An open slot takes the span as it is; a closed one maps
        it to a known value (its synonyms, the whole words around a partial span, words like
        "priced" left out, a near spelling) or refuses it (None)."""
        if not self.values:
            return surface.strip() or None
        candidates = [surface]
        if text and 0 <= start < end <= len(text):
            # The tagger may cut a word ("nesian" of "polynesian"): take the whole words.
            while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "-"):
                start -= 1
            while end < len(text) and (text[end].isalnum() or text[end] == "-"):
                end += 1
            candidates.append(text[start:end])
        known = [form for form, _ in self._forms]
        for candidate in candidates:
            words = re.sub(_FILLER, " ", candidate.lower()).split()
            for option in (candidate, " ".join(words)):
                value = self.canonical(option)
                if value in self.values:
                    return value
            close = difflib.get_close_matches(" ".join(words), known, n=1, cutoff=0.85)
            if close:
                return self.canonical(close[0])
        return None


# Words a tagged span may carry that don't change its value ("moderate priced", "thai food").
_FILLER = re.compile(
    r"\b(?:priced|price|prices|pricing|range|food|foods|cuisine|restaurant|restaurants|place|"
    r"places|type|kind|style|side|part|area|of|town)\b",
    re.IGNORECASE,
)
# "X, if not Y": the first choice counts; "not X but Y" / "X, actually Y": the last.
_FALLBACK = re.compile(
    r"\b(?:if\s+not|if\s+(?:there\s+)?(?:is|are)\s*n[o']t|if\s+none|if\s+that'?s\s+not|"
    r"otherwise|or\s+maybe|or\s+else|failing\s+that|if\s+(?:there\s+)?(?:isn'?t|aren'?t))\b",
    re.IGNORECASE,
)
# Asking about a value is not asking for it: "is it cheap?", "how expensive is Graffiti?"
_ASKS_ABOUT = re.compile(
    r"^\s*(?:and\s+)?(?:is\s+(?:it|that|this|the\s+\w+)|are\s+(?:they|those|these))\b[^.?!]*\?"
    r"|\bhow\s+(?:expensive|cheap|pricey|much)\b",
    re.IGNORECASE,
)
_SOMETHING_ELSE = re.compile(r"\b(?:else|other|another|different)\b", re.IGNORECASE)
_HOW_ABOUT = re.compile(r"\b(?:how|what)\s+about\b", re.IGNORECASE)
_BARE_NO = re.compile(
    r"^\s*(?:no|nope|nah|none|not really|no preference)\s*(?:[.!]+\s*\S|[.!]*\s*$)",
    re.IGNORECASE,
)


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
        mentions = "|".join(re.escape(m.lower()) for m in vocabulary.mentions)
        said_any = mentions and re.search(
            rf"\b(?:any\s+(?:\w+\s+)?|no\s+(?:particular\s+|specific\s+|certain\s+|real\s+)?)"
            rf"(?:{mentions})\b",
            lowered,
        )
        phrases = any(
            re.search(rf"(?<!\w){re.escape(p.lower())}(?!\w)", lowered) for p in vocabulary.dontcare
        )
        if said_any or phrases:
            slots.append(slot)
    if _DONTCARE_ANY.search(text):
        named = _mentioned(text, vocabularies)
        slots += named or [s for s in asked if s in vocabularies]
    if _BARE_NO.search(text):  # "Any particular area?" "No."
        slots += [s for s in asked if s in vocabularies]
    return list(dict.fromkeys(slots))


class _Option(NamedTuple):
    """One value a message may give for a slot, and where."""

    value: str
    start: int
    end: int
    confidence: float
    tagged: bool  # from the tagger (else from the dictionary)


def _inside_longer(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether [start, end) lies inside one of ``spans`` that is longer."""
    return any(s <= start and end <= e and e - s > end - start for s, e in spans)


def _informed(nlu: NluResult, vocabularies: Mapping[str, SlotVocabulary]) -> dict[str, SlotValue]:
    """The values this message gives, one per slot: from the tagger's spans (mapped to the
    workspace's values) and from the dictionary (what the tagger missed). Where a message names
    two values for a slot, "X, if not Y" keeps X, a correction keeps the last, otherwise the
    tagger's choice (then the longest form) wins."""
    text = nlu.text
    confidence = round(nlu.confidence, 4) if nlu.intents else 1.0
    options: dict[str, list[_Option]] = {}
    for span in nlu.slots:
        vocabulary = vocabularies.get(span.slot)
        value = (
            vocabulary.resolve(span.value, text, span.start, span.end)
            if vocabulary
            else span.value.strip() or None
        )
        if value:
            options.setdefault(span.slot, []).append(
                _Option(value, span.start, span.end, confidence, tagged=True)
            )
    found = [
        (slot, value, start, end)
        for slot, vocabulary in vocabularies.items()
        for value, start, end in vocabulary.find_all(text)
    ]
    for slot, value, start, end in found:
        others = [(s, e) for other, _, s, e in found if other != slot]
        if not _inside_longer(start, end, others):  # "north" in "north american" is no area
            options.setdefault(slot, []).append(_Option(value, start, end, 1.0, tagged=False))
    fallback, last = _FALLBACK.search(text), _CORRECTION.search(text) or _HOW_ABOUT.search(text)
    informed = {}
    for slot, candidates in options.items():
        # A tagged word inside a longer dictionary phrase ("not too expensive") defers to it.
        spans = [(s, e) for _, _, s, e in found]
        ordered = sorted(
            (c for c in candidates if not (c.tagged and _inside_longer(c.start, c.end, spans))),
            key=lambda c: c.start,
        )
        if not ordered:
            continue
        if len({c.value for c in ordered}) == 1 or fallback:
            chosen = ordered[0]
        elif last:
            chosen = ordered[-1]
        else:
            tagged = [c for c in ordered if c.tagged]
            chosen = tagged[-1] if tagged else max(ordered, key=lambda c: c.end - c.start)
        informed[slot] = SlotValue(value=chosen.value, confidence=chosen.confidence, turn=0)
    return informed


def state_update(
    state: DialogueState,
    nlu: NluResult,
    *,
    vocabularies: Mapping[str, SlotVocabulary] | None = None,
    asked: Sequence[str] = (),
    offered: Mapping[str, str] | None = None,
    low_confidence: float = 0.5,
    conversational: bool = False,
) -> DialogueState:
    """The state after one customer turn. ``asked``: the slots the bot's last message asked for;
    ``offered``: the values it proposed ("Nandos serves Portuguese food"), which the customer
    takes, even over an earlier value, unless they turn them down ("no", "something else") or
    name another value. ``conversational``: the turn was conversation control ("thanks", "are
    you a bot?"), understood without the intent model: it counts neither as a low-confidence
    turn nor as the end of a run of them."""
    vocabularies = vocabularies or {}
    turn = state.turn + 1
    slots = dict(state.slots)
    text = nlu.text
    correction = bool(_CORRECTION.search(text))
    informed = {} if _ASKS_ABOUT.search(text) else _informed(nlu, vocabularies)
    for slot, value in (offered or {}).items():
        if slot not in informed and not is_no(text) and not _SOMETHING_ELSE.search(text):
            informed[slot] = SlotValue(value=value, confidence=1.0, turn=0)
    for slot, new in informed.items():
        old = slots.get(slot)
        slots[slot] = replace(
            new, turn=turn, confirmed=bool(old and old.value == new.value and old.confirmed)
        )
    for slot in _dontcare_slots(text, vocabularies, asked):
        if slot not in informed:
            slots[slot] = SlotValue(value=DONTCARE, confidence=1.0, turn=turn)
    intent = nlu.intent
    history = state.intent_history
    if intent is not None:
        history = (*history, intent)[-HISTORY_KEPT:]
    low = (nlu.is_oos or nlu.confidence < low_confidence) and not nlu.slots
    low_turns = (
        state.low_confidence_turns
        if conversational
        else (state.low_confidence_turns + 1 if low else 0)
    )
    return replace(
        state,
        turn=turn,
        active_intent=intent or state.active_intent,
        intent_history=history,
        slots=slots,
        low_confidence_turns=low_turns,
        negative_turns=state.negative_turns + 1 if nlu.sentiment == "negative" else 0,
        last_correction=correction,
    )
