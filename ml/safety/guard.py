"""The last check before a reply reaches the customer.

Blocks a reply that carries personal data which is neither the customer's own in this
conversation nor the workspace's own published contact details (a card, IBAN, e-mail, phone, ID
number or address from a document or made up by the model), that repeats the system prompt, or
that uses one of the workspace's blocked terms.
"""

import re
from collections.abc import Iterable, Sequence

from ml.safety.contracts import GuardVerdict, PiiSpan
from ml.safety.pii import PiiDetector
from ml.safety.redact import value_key

# Names are left out on purpose: a reply may greet the customer or name the agent.
GUARDED_ENTITIES = ("PAYMENT_CARD", "IBAN", "EMAIL", "PHONE", "CN_ID", "ADDRESS")
_PHONE_DIGITS_COMPARED = 10
_PHONE_MIN_DIGITS = 7
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


def _phone_digits(value: str) -> str:
    """A phone number's digits without its extension; a trunk "0" after "+44 (0)" dropped."""
    number = re.split(r"(?i)\s*,?\s*(?:ext\.?|extension|x|#)\s*\d", value)[0]
    return re.sub(r"\D", "", number.replace("(0)", ""))


class OutputGuard:
    def __init__(
        self,
        *,
        detector: PiiDetector,
        system_prompt: str = "",
        blocked_terms: Sequence[str] = (),
        secret: bytes = b"output-guard",
        published_values: Iterable[str] = (),
    ):
        """``published_values``: what the workspace publishes itself (its answer variables'
        values, the phone numbers and e-mail addresses of its help content): personal data found
        in them may be shown to any customer."""
        self.detector = detector
        self.secret = secret
        self.published_keys: set[str] = set()
        self.published_phones: set[str] = set()
        for value in published_values:
            self.published_keys |= self._keys(value)
            for span in self._guarded_spans(value):
                if span.entity == "PHONE":
                    self.published_phones.add(_phone_digits(value[span.start : span.end]))
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

    def _published_phone(self, value: str) -> bool:
        """The same number as a published one, written another way: "+1 800 555 0199",
        "(800) 555-0199" and "1-800-555-0199" agree on their last ten digits (all of them when
        shorter)."""
        digits = _phone_digits(value)
        return any(
            digits[-_PHONE_DIGITS_COMPARED:] == published[-_PHONE_DIGITS_COMPARED:]
            and min(len(digits), len(published)) >= _PHONE_MIN_DIGITS
            for published in self.published_phones
        )

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
            own = set(customer_keys) | self.published_keys
            for customer_text in customer_texts:
                own |= self._keys(customer_text)
            for span in spans:
                value = text[span.start : span.end]
                if value_key(span.entity, value, self.secret) in own:
                    continue
                if span.entity == "PHONE" and self._published_phone(value):
                    continue
                reasons.append(f"pii:{span.entity}")
        if self.prompt_shingles and self.prompt_shingles & _shingles(text):
            reasons.append("system_prompt")
        for term, pattern in self.blocked:
            if pattern.search(text):
                reasons.append(f"blocked_term:{term}")
        return GuardVerdict(blocked=bool(reasons), reasons=tuple(dict.fromkeys(reasons)))
