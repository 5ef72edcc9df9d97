"""What the safety library takes and gives back: plain frozen dataclasses."""

from dataclasses import dataclass, field

# Entity types the detector knows; workspaces choose which of them to redact.
ENTITIES: tuple[str, ...] = (
    "PAYMENT_CARD",
    "IBAN",
    "EMAIL",
    "PHONE",
    "CN_ID",
    "ORDER_ID",
    "INVOICE_ID",
    "ADDRESS",
    "PERSON",
)
# The name a placeholder shows: <CARD_1>, <ID_NUMBER_2>...
PLACEHOLDER_LABELS: dict[str, str] = {"PAYMENT_CARD": "CARD", "CN_ID": "ID_NUMBER"}


@dataclass(frozen=True)
class PiiSpan:
    entity: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Redaction:
    """A redacted text, what was found (types and places, never values), and the conversation's
    placeholder map after this text (value key -> placeholder)."""

    text: str
    spans: tuple[PiiSpan, ...]
    placeholders: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for span in self.spans:
            counts[span.entity] = counts.get(span.entity, 0) + 1
        return counts


@dataclass(frozen=True)
class InjectionVerdict:
    is_injection: bool
    score: float
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuardVerdict:
    blocked: bool
    reasons: tuple[str, ...] = ()
