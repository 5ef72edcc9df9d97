"""Task flows: collect required slots, confirm, then act.

A flow is declared per workspace (``FlowSpec``): the slots it needs, with the question that asks
for each and how an answer is validated (a pattern or a list of choices), a confirmation
question, and an action (the app calls the workspace's HTTPS endpoint, or answers with a canned
result). ``flow_step`` is pure: given the flow, the state and the customer's text it says what
to do next.

    ask slot 1 ─ ... ─ ask slot n ─ confirm ─┬─ yes: act
                                             └─ no: ask which slot to change (correction)
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ml.dialogue.control import CJK
from ml.dialogue.state import DialogueState, SlotValue, is_no, is_yes
from ml.dialogue.triggers import phrases_valid

CANCEL = re.compile(
    r"\b(?:cancel|stop|never ?mind|nvm|forget (?:it|that|about it)|quit|abort|scratch that|"
    r"changed my mind)\b|算了|取消|不用了|不要了",
    re.IGNORECASE,
)


CANCELLED = {"en": "OK, I've cancelled that.", "zh": "好的，已为您取消。"}


def _spaced(text: str) -> str:
    """Chinese characters set apart, so a pattern's ``\\b`` finds "7316" in "后四位是7316"."""
    return re.sub(r"([\u3400-\u9fff\uf900-\ufaff])", r" \1 ", text)


@dataclass(frozen=True)
class FlowSlot:
    name: str
    prompt: str
    pattern: str = ""  # a regex a typed answer must contain (the match is the value)
    choices: Mapping[str, Sequence[str]] = field(default_factory=dict)  # value -> synonyms
    invalid: str = ""  # said when an answer doesn't validate

    def parse(self, text: str) -> str | None:
        """The slot value in a customer's answer, or None."""
        if self.choices:
            lowered = text.lower()
            for value, synonyms in self.choices.items():
                for form in (value, *synonyms):
                    # Chinese has no spaces between words: a form is found anywhere.
                    bounded = rf"(?<!\w){re.escape(form.lower())}(?!\w)"
                    if re.search(re.escape(form) if CJK.search(form) else bounded, lowered):
                        return value
            return None
        if self.pattern:
            match = re.search(self.pattern, _spaced(text))
            return match.group(0) if match else None
        stripped = text.strip()
        return stripped or None

    def valid(self, value: str) -> bool:
        if self.choices:
            return value in self.choices
        if self.pattern:
            return re.fullmatch(self.pattern, value) is not None
        return bool(value.strip())


@dataclass(frozen=True)
class FlowSpec:
    name: str
    intent: str
    slots: tuple[FlowSlot, ...]
    confirm: str  # a template over slot values: "Freeze the card ending {card_last4}?"
    action: str = "canned"  # "canned" or "https"
    endpoint: str = ""  # for https
    timeout_s: float = 5.0
    result: str = ""  # canned answer (template), or what to say when the endpoint succeeds
    failure: str = "Sorry, that didn't work. Let me connect you with a person."
    # What the flow does, for "what can you do?" and for resuming it: {"en": ..., "zh": ...}.
    title: Mapping[str, str] = field(default_factory=dict)
    # Ways customers start it, in any language, beside the intent ("left my card at the bar").
    triggers: tuple[str, ...] = ()
    # The texts in other languages: {"zh": {"confirm": ..., "result": ..., "<slot>.prompt": ...}}.
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def title_in(self, language: str) -> str:
        """What the flow does, in the language, else in English ("" when untitled)."""
        return self.title.get(language, self.title.get("en", ""))

    def text(self, key: str, language: str) -> str:
        """One of the flow's texts (``confirm``, ``result``, ``failure``, ``cancelled``,
        ``<slot>.prompt``, ``<slot>.invalid``) in the customer's language where the operator
        translated it."""
        translated = self.translations.get(language, {}).get(key)
        if translated:
            return translated
        if key == "cancelled":
            return CANCELLED.get(language, CANCELLED["en"])
        if "." in key:
            name, part = key.split(".", 1)
            slot = next(s for s in self.slots if s.name == name)
            return str(getattr(slot, part))
        return str(getattr(self, key))

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "FlowSpec":
        slots = tuple(
            FlowSlot(
                name=str(s["name"]),
                prompt=str(s["prompt"]),
                pattern=str(s.get("pattern", "")),
                choices={str(k): tuple(v) for k, v in s.get("choices", {}).items()},
                invalid=str(s.get("invalid", "")),
            )
            for s in raw["slots"]
        )
        for slot in slots:
            if slot.pattern:
                re.compile(slot.pattern)
        action = str(raw.get("action", "canned"))
        if action not in ("canned", "https"):
            raise ValueError(f"flow {raw.get('name')}: action must be canned or https")
        endpoint = str(raw.get("endpoint", ""))
        if action == "https" and not endpoint.startswith("https://"):
            raise ValueError(f"flow {raw.get('name')}: an https action needs an https:// endpoint")
        return cls(
            name=str(raw["name"]),
            intent=str(raw["intent"]),
            slots=slots,
            confirm=str(raw["confirm"]),
            action=action,
            endpoint=endpoint,
            timeout_s=float(raw.get("timeout_s", 5.0)),
            result=str(raw.get("result", "")),
            failure=str(raw.get("failure", cls.failure)),
            title={str(k): str(v) for k, v in raw.get("title", {}).items()},
            triggers=tuple(phrases_valid(raw.get("triggers", []))),
            translations={
                str(lang): {str(k): str(v) for k, v in texts.items()}
                for lang, texts in raw.get("translations", {}).items()
            },
        )


@dataclass(frozen=True)
class FlowStep:
    kind: str  # "ask", "confirm", "act", "cancelled"
    message: str  # what the bot says (for "act": nothing yet; the app reports the result)
    state: DialogueState
    slot: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)


def render(template: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def _fill_from_text(spec: FlowSpec, state: DialogueState, text: str) -> DialogueState:
    """A typed answer to the question the bot asked, or any slot the text plainly contains."""
    slots = dict(state.slots)
    pending = state.pending_question or ""
    for slot in spec.slots:
        asked = pending == f"slot:{spec.name}:{slot.name}"
        if slot.name in slots and not asked and not state.last_correction:
            continue
        value = slot.parse(text) if (asked or slot.pattern or slot.choices) else None
        if value is not None and slot.valid(value):
            slots[slot.name] = SlotValue(value=value, confidence=1.0, turn=state.turn)
    return replace(state, slots=slots)


def flow_step(spec: FlowSpec, state: DialogueState, text: str, language: str = "en") -> FlowStep:
    pending = state.pending_question or ""
    # "Cancel" stops a flow that is under way; the message that starts one ("I need to cancel a
    # transfer") is not a cancellation.
    under_way = pending.startswith((f"slot:{spec.name}:", f"confirm:{spec.name}"))
    # "Yes, cancel it" confirms cancelling a transfer: a yes to the confirmation comes first.
    confirming = pending == f"confirm:{spec.name}" and is_yes(text) and not is_no(text)
    if under_way and CANCEL.search(text) and not confirming:
        cleared = {k: v for k, v in state.slots.items() if k not in {s.name for s in spec.slots}}
        done = replace(state, slots=cleared, pending_question=None, active_intent=None)
        return FlowStep("cancelled", spec.text("cancelled", language), done)
    if not under_way:
        # A new run of the flow: the values a finished run confirmed ("the card ending 4471")
        # belong to that run; the customer gives them again.
        names = {s.name for s in spec.slots}
        kept = {k: v for k, v in state.slots.items() if not (k in names and v.confirmed)}
        state = replace(state, slots=kept)
    if pending == f"confirm:{spec.name}":
        if is_yes(text) and not is_no(text):
            values = {s.name: state.slots[s.name].value for s in spec.slots}
            confirmed = {
                name: replace(value, confirmed=True) if name in values else value
                for name, value in state.slots.items()
            }
            done = replace(state, slots=confirmed, pending_question=None)
            return FlowStep("act", "", done, values=values)
        before = {name: value.value for name, value in state.slots.items()}
        state = _fill_from_text(spec, state, text)
        changed = [
            s.name
            for s in spec.slots
            if s.name in state.slots
            # Changed by this answer, or already by this turn's state update (its dictionary).
            and (
                state.slots[s.name].value != before.get(s.name)
                or state.slots[s.name].turn == state.turn
            )
        ]
        if is_no(text) and not changed:
            # "No": which part is wrong? Ask again for every slot, starting with the first.
            kept = {k: v for k, v in state.slots.items() if k not in {s.name for s in spec.slots}}
            state = replace(state, slots=kept)
    else:
        state = _fill_from_text(spec, state, text)
    for slot in spec.slots:
        value = state.slots.get(slot.name)
        if value is None or not slot.valid(value.value):
            asked_before = pending == f"slot:{spec.name}:{slot.name}"
            kind = "invalid" if asked_before and slot.invalid else "prompt"
            message = spec.text(f"{slot.name}.{kind}", language)
            waiting = replace(state, pending_question=f"slot:{spec.name}:{slot.name}")
            return FlowStep("ask", message, waiting, slot=slot.name)
    values = {s.name: state.slots[s.name].value for s in spec.slots}
    waiting = replace(state, pending_question=f"confirm:{spec.name}")
    return FlowStep(
        "confirm", render(spec.text("confirm", language), values), waiting, values=values
    )
