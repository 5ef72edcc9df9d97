"""Normalising entity names so that "A&B Guest-House" and "a and b guest house" meet."""

import re
import unicodedata

_STOP = frozenset(
    ["a", "an", "the", "of", "and", "or", "for", "to", "in", "on", "at", "by", "with"]
)


def name_tokens(text: str) -> tuple[str, ...]:
    clean = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    clean = re.sub(r"['’]s\b", "s", clean)
    return tuple(re.findall(r"[^\W_]+", clean))


def normalize_name(text: str) -> str:
    tokens = list(name_tokens(text))
    if len(tokens) > 1 and tokens[0] == "the":  # not "a": "A and B Guest House"
        tokens = tokens[1:]
    return " ".join(tokens)


def is_stopword(token: str) -> bool:
    return token in _STOP
