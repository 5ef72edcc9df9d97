"""Trigger phrasings: the ways customers start a flow, given by the operator in any language
("left my card at the bar", "wallet was stolen", "我的卡丢了"), matched in a message without
training.

A phrasing matches when nearly all of its character n-grams occur in the message (containment,
so a long message that contains the phrasing still matches, and a typo costs a few n-grams, not
the match): trigrams inside words for alphabetic text, bigrams for Chinese, where words aren't
separated. Short phrasings need every n-gram; ``MIN_CONTAINMENT`` is the share for the rest
(two thirds for Chinese ones of three bigrams or more).
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ml.dialogue.control import CJK

MIN_CONTAINMENT = 0.86


def _grams(text: str) -> set[str]:
    lowered = re.sub(r"(.)\1{2,}", r"\1", text.lower().replace("’", "'"))
    grams: set[str] = set()
    for run in re.findall(r"[\u3400-\u9fff\uf900-\ufaff]+", lowered):
        grams |= {run} if len(run) == 1 else {run[i : i + 2] for i in range(len(run) - 1)}
    for word in re.findall(r"[a-z0-9']+", lowered):
        padded = f" {word} "
        grams |= {padded[i : i + 3] for i in range(len(padded) - 2)}
    return grams


@dataclass(frozen=True)
class TriggerMatch:
    key: str  # what the phrasing starts (a flow's name)
    phrase: str
    score: float


def trigger_match(
    text: str, phrases: Mapping[str, Sequence[str]], *, minimum: float = MIN_CONTAINMENT
) -> TriggerMatch | None:
    """The best phrasing the message contains, if one does well enough."""
    seen = _grams(text)
    if not seen:
        return None
    best: TriggerMatch | None = None
    best_rank = (0.0, 0)
    for key, options in phrases.items():
        for phrase in options:
            wanted = _grams(phrase)
            if not wanted:
                continue
            score = len(wanted & seen) / len(wanted)
            # Short phrasings (a few n-grams: "挂失", "lost card") must be there whole.
            # Short phrasings ("lost card") must be there whole; Chinese ones, whose bigrams
            # straddle the words a customer may put between ("取消一笔转账"), two thirds.
            if CJK.search(phrase):
                needed = 1.0 if len(wanted) <= 2 else 0.66
            else:
                needed = 1.0 if len(wanted) <= 6 else minimum
            # The best match is the most complete, then the longest phrasing.
            if score >= needed and (score, len(wanted)) > best_rank:
                best, best_rank = TriggerMatch(key, phrase, round(score, 3)), (score, len(wanted))
    return best


def phrases_valid(phrases: Iterable[str]) -> list[str]:
    """The phrasings an operator gave, cleaned; an empty one or one without letters is refused."""
    cleaned = [p.strip() for p in phrases]
    for phrase in cleaned:
        if not _grams(phrase):
            raise ValueError(f"a trigger phrasing needs words: {phrase!r}")
    return cleaned
