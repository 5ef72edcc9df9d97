"""Answer-quality metrics: ROUGE-L (LCS F-measure over lower-cased word tokens, as in Lin 2004
with beta = 1), citation validity and refusal rate."""

import re
from collections.abc import Sequence
from statistics import fmean

from ml.generation.contracts import Passage
from ml.generation.prompts import CITATION, citations_valid, is_refusal

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(CITATION.sub(" ", text).lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[-1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    predicted, gold = words(prediction), words(reference)
    common = lcs_length(predicted, gold)
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def answer_scores(
    answers: Sequence[str], references: Sequence[str], passages: Sequence[Sequence[Passage]]
) -> dict[str, float]:
    """For answerable questions: mean ROUGE-L (over all answers, and over the non-refusals),
    share of refusals, and the share of non-refusals that cite only shown passages (and at least
    one)."""
    if not answers:
        raise ValueError("nothing to score")
    answered = [(a, p) for a, p in zip(answers, passages, strict=True) if not is_refusal(a)]
    scores = [rouge_l(a, r) for a, r in zip(answers, references, strict=True)]
    answered_scores = [s for s, a in zip(scores, answers, strict=True) if not is_refusal(a)]
    return {
        "rouge_l": fmean(scores),
        # The same over the answers that are not refusals (a refusal scores about 0).
        "rouge_l_answered": fmean(answered_scores) if answered_scores else 0.0,
        "refusal_rate": 1 - len(answered) / len(answers),
        "citation_valid_rate": (
            fmean(citations_valid(a, p) for a, p in answered) if answered else 0.0
        ),
    }


def refusal_rate(answers: Sequence[str]) -> float:
    if not answers:
        raise ValueError("nothing to score")
    return fmean(is_refusal(a) for a in answers)
