"""Replacing what the detector found, with Presidio's anonymizer.

Two modes: a typed placeholder (``<CARD_1>``) that stays the same for the same value throughout a
conversation, so the bot and agents can still tell "the first card" from "the second"; or a mask
(``************1111``). The placeholder map is keyed by an HMAC of the value, so it can be stored
without storing the value.
"""

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from ml.safety.contracts import PLACEHOLDER_LABELS, PiiSpan, Redaction

MODES = ("placeholder", "mask")
_NUMERIC = {"PAYMENT_CARD", "IBAN", "PHONE", "CN_ID"}
_engine = AnonymizerEngine()  # type: ignore[no-untyped-call]


def value_key(entity: str, value: str, secret: bytes) -> str:
    """A stable, non-reversible key for a value: the same card typed two ways gives one key."""
    if entity in _NUMERIC:
        normalized = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    else:
        normalized = " ".join(value.split()).casefold()
    digest = hmac.new(secret, f"{entity}:{normalized}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def _mask(entity: str, value: str) -> str:
    keep = 4 if entity in ("PAYMENT_CARD", "IBAN", "PHONE") and len(value) > 8 else 0
    masked = [c if not c.isalnum() else "*" for c in value[: len(value) - keep]]
    return "".join(masked) + value[len(value) - keep :]


def redact(
    text: str,
    spans: tuple[PiiSpan, ...] | list[PiiSpan],
    *,
    secret: bytes,
    mode: str = "placeholder",
    placeholders: Mapping[str, str] | None = None,
) -> Redaction:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    mapping = dict(placeholders or {})
    if not spans:
        return Redaction(text=text, spans=(), placeholders=mapping)

    def placeholder_for(entity: str) -> Callable[[str], str]:
        label = PLACEHOLDER_LABELS.get(entity, entity)

        def replace(value: str) -> str:
            if mode == "mask":
                return _mask(entity, value)
            key = value_key(entity, value, secret)
            if key not in mapping:
                used = sum(1 for name in mapping.values() if name.startswith(f"{label}_"))
                mapping[key] = f"{label}_{used + 1}"
            return f"<{mapping[key]}>"

        return replace

    ordered = sorted(spans, key=lambda s: s.start)
    # Presidio applies replacements right to left; numbering must follow reading order, so the
    # placeholders are assigned here first.
    for span in ordered:
        placeholder_for(span.entity)(text[span.start : span.end])
    operators = {
        entity: OperatorConfig("custom", {"lambda": placeholder_for(entity)})
        for entity in {span.entity for span in ordered}
    }
    result = _engine.anonymize(
        text=text,
        analyzer_results=[RecognizerResult(s.entity, s.start, s.end, s.score) for s in ordered],
        operators=operators,
    )
    return Redaction(text=result.text, spans=tuple(ordered), placeholders=mapping)
