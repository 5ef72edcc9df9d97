"""The answer gate: the threshold fitted between the two kinds of scores, and the decision it
makes, with a stand-in encoder (fixed vectors) instead of MiniLM."""

from collections.abc import Sequence

import numpy as np
import pytest

from ml.generation.contracts import Passage
from ml.generation.gate import AnswerGate, GateDecision, threshold_fit
from ml.retrieval.encoder import DenseEncoder


def test_threshold_fit_splits_separable_scores_halfway() -> None:
    assert threshold_fit([0.6, 0.7, 0.9], [0.1, 0.2, 0.4]) == pytest.approx(0.5)


def test_threshold_fit_weighs_both_kinds_equally() -> None:
    # One answerable question scores low: losing it costs less than refusing two of three.
    threshold = threshold_fit([0.15, 0.8, 0.9], [0.1, 0.2, 0.3])
    assert threshold == pytest.approx(0.55)


def test_threshold_fit_needs_both_kinds() -> None:
    with pytest.raises(ValueError, match="both kinds"):
        threshold_fit([0.5], [])


class _Encoder(DenseEncoder):
    VECTORS = {
        "cancel my order": [1.0, 0.0],
        "To cancel an order, press Cancel.": [0.8, 0.6],
        "Refunds take five days.": [0.0, 1.0],
    }

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return np.asarray([self.VECTORS[t] for t in texts], dtype=np.float32)


def _passages(*texts: str) -> list[Passage]:
    return [Passage(pid=f"P{i}", text=t, source_id=f"kb:{i}") for i, t in enumerate(texts, 1)]


def test_the_gate_names_the_closest_passage_or_refuses_below_the_threshold() -> None:
    gate = AnswerGate(threshold=0.5, encoder=_Encoder())
    shown = [
        _passages("Refunds take five days.", "To cancel an order, press Cancel."),
        _passages("Refunds take five days."),
        [],
    ]
    decisions = gate.decide(["cancel my order"] * 3, shown)
    assert decisions[0] == GateDecision("P2", pytest.approx(0.8))
    assert decisions[1] == GateDecision(None, 0.0)
    assert decisions[2] == GateDecision(None, 0.0)
