"""The answer gate: before the generator writes, decide whether any shown passage answers the
question, and which one does best.

A small LM's own "I don't know" is a weak decision (it refuses at about the same rate whether or
not the answering passage is there), so the refusal is taken out of its hands: the question and
each passage are embedded with the shipped MiniLM encoder (the retrieval's dense channel), and
when no passage's cosine similarity reaches the threshold the answer is the refusal, without
generating. The threshold is fitted on validation questions (``threshold_fit``), with and
without their answering passage, never on the test split.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml.generation.contracts import Passage
from ml.retrieval.encoder import DenseEncoder


@dataclass(frozen=True)
class GateDecision:
    best: str | None  # the id of the closest passage; None: refuse
    score: float  # its cosine similarity to the question


def threshold_fit(answerable: Sequence[float], unanswerable: Sequence[float]) -> float:
    """The threshold that best separates the top scores of questions shown their answering
    passage from those shown none (most right decisions of both kinds, each kind weighted
    equally); halfway between the two scores it falls between."""
    if not answerable or not unanswerable:
        raise ValueError("fitting a threshold needs scores of both kinds")
    candidates = sorted({*answerable, *unanswerable})
    positives, negatives = np.asarray(answerable), np.asarray(unanswerable)
    best_threshold, best_score = candidates[0], -1.0
    for low, high in zip(candidates, [*candidates[1:], candidates[-1] + 1e-6], strict=True):
        threshold = (low + high) / 2
        score = float(np.mean(positives >= threshold) + np.mean(negatives < threshold))
        if score > best_score:
            best_threshold, best_score = threshold, score
    return best_threshold


class AnswerGate:
    def __init__(self, threshold: float, encoder: DenseEncoder | None = None):
        self.threshold = threshold
        self.encoder = encoder or DenseEncoder()

    def scores(
        self, questions: Sequence[str], passages: Sequence[Sequence[Passage]]
    ) -> list[list[float]]:
        """Cosine similarity of each question to each of its passages."""
        texts = [p.text for shown in passages for p in shown]
        question_vectors = self.encoder.encode(list(questions))
        passage_vectors = self.encoder.encode(texts)
        out: list[list[float]] = []
        start = 0
        for vector, shown in zip(question_vectors, passages, strict=True):
            block = passage_vectors[start : start + len(shown)]
            out.append([float(s) for s in block @ vector])
            start += len(shown)
        return out

    def decide(
        self, questions: Sequence[str], passages: Sequence[Sequence[Passage]]
    ) -> list[GateDecision]:
        decisions = []
        for shown, row in zip(passages, self.scores(questions, passages), strict=True):
            if not shown:
                decisions.append(GateDecision(None, 0.0))
                continue
            index = int(np.argmax(row))
            best = shown[index].pid if row[index] >= self.threshold else None
            decisions.append(GateDecision(best, row[index]))
        return decisions
