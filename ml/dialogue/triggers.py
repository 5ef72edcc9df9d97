"""Trigger phrasings: the ways customers start a flow, given by the operator in any language
("left my card at the bar", "wallet was stolen", "我的卡丢了"), matched in a message without
training.

- Words (English and other spaced languages): the phrasing's words occur in the message in the
  same order, at most one other word between two of them ("left my card" in "I left my debit
  card at the bar"), each word equal or one typo away when it is five letters or longer. The
  words must be in order: "where is my order" is not found in "where can I download the
  receipt of my order".
- Chinese, written without spaces: nearly all of the phrasing's character bigrams occur in the
  message (two thirds for phrasings of three bigrams or more, so "取消一笔转账" still has
  "取消转账"; all of them for shorter ones).
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ml.dialogue.control import CJK, fold, near

MAX_GAP = 1  # other words allowed between two words of a phrasing
CJK_CONTAINMENT = 0.66


@dataclass(frozen=True)
class TriggerMatch:
    key: str  # what the phrasing starts (a flow's name)
    phrase: str
    score: float


def _words(text: str) -> list[str]:
    return [fold(w) for w in re.findall(r"[^\W_]+(?:'[^\W_]+)?", text) if not CJK.search(w)]


def _bigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for run in re.findall(r"[\u3400-\u9fff\uf900-\ufaff]+", text):
        grams |= {run} if len(run) == 1 else {run[i : i + 2] for i in range(len(run) - 1)}
    return grams


def _in_order(phrase: list[str], words: list[str]) -> bool:
    for start, word in enumerate(words):
        if not near(word, phrase[0]):
            continue
        position, found = start, 1
        while found < len(phrase):
            window = words[position + 1 : position + 2 + MAX_GAP]
            step = next((i for i, w in enumerate(window) if near(w, phrase[found])), None)
            if step is None:
                break
            position += step + 1
            found += 1
        if found == len(phrase):
            return True
    return False


def _score(phrase: str, words: list[str], bigrams: set[str]) -> float:
    if CJK.search(phrase):
        wanted = _bigrams(phrase)
        share = len(wanted & bigrams) / len(wanted)
        return share if share >= (1.0 if len(wanted) <= 2 else CJK_CONTAINMENT) else 0.0
    return 1.0 if _in_order(_words(phrase), words) else 0.0


def trigger_match(text: str, phrases: Mapping[str, Sequence[str]]) -> TriggerMatch | None:
    """The best phrasing the message contains: the most complete, then the longest."""
    words, bigrams = _words(text), _bigrams(text)
    best: TriggerMatch | None = None
    for key, options in phrases.items():
        for phrase in options:
            score = _score(phrase, words, bigrams)
            if score and (best is None or (score, len(phrase)) > (best.score, len(best.phrase))):
                best = TriggerMatch(key, phrase, round(score, 3))
    return best


def phrases_valid(phrases: Iterable[str]) -> list[str]:
    """The phrasings an operator gave, cleaned; an empty one or one without words is refused."""
    cleaned = [p.strip() for p in phrases]
    for phrase in cleaned:
        if not _words(phrase) and not _bigrams(phrase):
            raise ValueError(f"a trigger phrasing needs words: {phrase!r}")
    return cleaned
