"""A fast, dependency-free scrub for text that must never carry personal data but might (log
lines): payment cards, Chinese ID numbers, e-mail addresses and long phone numbers become
``[REDACTED]``. Detection proper is ``ml.safety.pii``; this is the safety net."""

import re

from ml.safety.checksums import cn_id_valid, luhn_valid

_CARD = re.compile(r"(?<![0-9])(?:\d[ -]?){12,18}\d(?![0-9])")
_CN_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![0-9A-Za-z])\+\d[\d ().-]{7,18}\d(?![0-9])")
MARK = "[REDACTED]"


def scrub(text: str) -> str:
    text = _CN_ID.sub(lambda m: MARK if cn_id_valid(m.group()) else m.group(), text)
    text = _CARD.sub(
        lambda m: MARK if luhn_valid(re.sub(r"[ -]", "", m.group())) else m.group(), text
    )
    text = _EMAIL.sub(MARK, text)
    return _PHONE.sub(MARK, text)
