"""Check digits of payment cards, IBANs and Chinese ID numbers (no heavy imports: the log
scrubber uses these too)."""

import re
from datetime import date


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    compact = re.sub(r"\s", "", text).upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(char, 36)) for char in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"


def cn_id_valid(text: str) -> bool:
    """GB 11643: 17 digits, a check character (ISO 7064 MOD 11-2), a real birth date."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    check = _CN_ID_CHECK[
        sum(int(d) * w for d, w in zip(text[:17], _CN_ID_WEIGHTS, strict=True)) % 11
    ]
    if text[17].upper() != check:
        return False
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()
