"""The last check before a reply reaches the customer.

Blocks a reply that carries personal data which is not the customer's own in this conversation
(a card, IBAN, e-mail, phone, ID number or address from a document or made up by the model), that
repeats the system prompt, or that uses one of the workspace's blocked terms.
"""

import re
from collections.abc import Iterable, Sequence

from ml.safety.contracts import GuardVerdict, PiiSpan
from ml.safety.pii import PiiDetector
from ml.safety.redact import value_key

# Names are left out on purpose: a reply may greet the customer or name the agent.
GUARDED_ENTITIES = ("PAYMENT_CARD", "IBAN", "EMAIL", "PHONE", "CN_ID", "ADDRESS")
_SHINGLE_WORDS = 6
_SHINGLE_CHARS = 12


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.casefold())
    found = {
        " ".join(words[i : i + _SHINGLE_WORDS]) for i in range(len(words) - _SHINGLE_WORDS + 1)
    }
    # Chinese has no spaces: runs of characters instead.
    chinese = "".join(re.findall(r"[\u4e00-\u9fff]", text))
    found |= {chinese[i : i + _SHINGLE_CHARS] for i in range(len(chinese) - _SHINGLE_CHARS + 1)}
    return found


class OutputGuard:
    def __init__(
        self,
        *,
        detector: PiiDetector,
        system_prompt: str = "",
        blocked_terms: Sequence[str] = (),
        secret: bytes = b"output-guard",
    ):
        self.detector = detector
        self.secret = secret
        self.prompt_shingles = _shingles(system_prompt)
        terms = [t.strip() for t in blocked_terms if t.strip()]
        self.blocked = [
            (
                term,
                re.compile(
                    rf"(?<![A-Za-z0-9]){re.escape(term)}(?![A-Za-z0-9])"
                    if term.isascii()
                    else re.escape(term),
                    re.IGNORECASE,
                ),
            )
            for term in terms
        ]

    def _guarded_spans(self, text: str) -> list[PiiSpan]:
        # Every entity is detected so that, say, an order number is not taken for a card; only
        # the guarded ones count.
        return [s for s in self.detector.detect(text) if s.entity in GUARDED_ENTITIES]

    def _keys(self, text: str) -> set[str]:
        return {
            value_key(span.entity, text[span.start : span.end], self.secret)
            for span in self._guarded_spans(text)
        }

    def check(
        self,
        text: str,
        customer_texts: Iterable[str] = (),
        customer_keys: Iterable[str] = (),
    ) -> GuardVerdict:
        """``customer_texts``: what the customer wrote (their own data may be repeated to them);
        ``customer_keys``: value keys of their already-redacted data (same secret)."""
        reasons: list[str] = []
        spans = self._guarded_spans(text)
        if spans:
            own = set(customer_keys)
            for customer_text in customer_texts:
                own |= self._keys(customer_text)
            for span in spans:
                if value_key(span.entity, text[span.start : span.end], self.secret) not in own:
                    reasons.append(f"pii:{span.entity}")
        if self.prompt_shingles and self.prompt_shingles & _shingles(text):
            reasons.append("system_prompt")
        for term, pattern in self.blocked:
            if pattern.search(text):
                reasons.append(f"blocked_term:{term}")
        return GuardVerdict(blocked=bool(reasons), reasons=tuple(dict.fromkeys(reasons)))
