"""What the NLU library takes and gives back: plain frozen dataclasses."""

from dataclasses import dataclass, field

# Sentiment labels, in head order. "negative" is what escalates a conversation.
SENTIMENTS: tuple[str, ...] = ("neutral", "negative")


@dataclass(frozen=True)
class SlotSpan:
    """A slot value found in a text: characters ``text[start:end]``."""

    slot: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Example:
    """One training or evaluation utterance. A task whose label is None is not trained on it."""

    text: str
    intent: str | None = None
    slots: tuple[SlotSpan, ...] | None = None
    sentiment: str | None = None
    is_oos: bool = False  # an out-of-scope utterance: no intent, counts as a negative for OOS
    # What kind of out-of-scope row, for evaluation by kind (e.g. "in_domain": about the
    # workspace's business but no intent of it; "out_of_domain": about something else).
    oos_kind: str | None = None


@dataclass(frozen=True)
class NluData:
    train: tuple[Example, ...]
    validation: tuple[Example, ...]
    test: tuple[Example, ...] = ()


@dataclass(frozen=True)
class IntentScore:
    intent: str
    score: float


@dataclass(frozen=True)
class NluResult:
    text: str
    intents: tuple[IntentScore, ...]  # top-k, best first; probabilities after calibration
    is_oos: bool
    oos_score: float  # 0 (surely in scope) .. 1 (surely out of scope)
    slots: tuple[SlotSpan, ...] = ()
    sentiment: str = "neutral"
    sentiment_scores: dict[str, float] = field(default_factory=dict)

    @property
    def intent(self) -> str | None:
        """The best intent, or None when the message is out of scope."""
        return None if self.is_oos or not self.intents else self.intents[0].intent

    @property
    def confidence(self) -> float:
        return self.intents[0].score if self.intents else 0.0


@dataclass(frozen=True)
class TokenAttribution:
    token: str
    weight: float


@dataclass(frozen=True)
class Explanation:
    text: str
    intent: str
    tokens: tuple[TokenAttribution, ...]
    seconds: float
