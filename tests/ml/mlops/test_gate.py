import random

import numpy as np
import pytest

from ml.mlops.gate import (
    GateConfig,
    Predictions,
    evaluation_gate,
    nearest_rank,
    paired_bootstrap_weights,
)

INTENTS = [f"intent_{i}" for i in range(10)]


def _frozen_set() -> list[str]:
    return [intent for intent in INTENTS for _ in range(20)] + ["out_of_scope"] * 40


def _model(gold: list[str], accuracy: float, seed: int) -> Predictions:
    """Right on ``accuracy`` of the items (a fixed random subset), else a wrong label; confident
    about as often as it is right, so it is calibrated."""
    rng = random.Random(seed)
    labels = [
        label if rng.random() < accuracy else rng.choice([x for x in INTENTS if x != label])
        for label in gold
    ]
    return Predictions(
        labels=tuple(labels),
        confidences=tuple(accuracy for _ in gold),
        latencies_ms=tuple(10.0 + (i % 20) for i in range(len(gold))),
    )


def test_ece_of_a_hand_made_example() -> None:
    # Two bins used: 0.9 (4 items, 3 right: |0.75 - 0.9| = 0.15) and 0.6 (6 items, all wrong:
    # |0 - 0.6| = 0.6); ECE = 0.4 * 0.15 + 0.6 * 0.6 = 0.42
    gold = ["a"] * 10
    candidate = Predictions(
        labels=("a", "a", "a", "b", "b", "b", "b", "b", "b", "b"),
        confidences=(0.9,) * 4 + (0.6,) * 6,
    )
    result = evaluation_gate(gold=gold, candidate=candidate, config=GateConfig(f1_min_support=100))
    (ece,) = [check for check in result.checks if check.name == "ece"]
    assert ece.value == pytest.approx(0.42)
    assert not ece.passed
    assert not result.passed


def test_first_model_gets_only_the_absolute_checks() -> None:
    gold = _frozen_set()
    result = evaluation_gate(gold=gold, candidate=_model(gold, 0.9, seed=1))
    names = [check.name for check in result.checks]
    assert names == [f"intent_f1:{intent}" for intent in INTENTS] + ["latency_p95_ms", "ece"]
    assert result.passed
    assert [name for name, _ in result.skipped] == ["vs_champion"]


def test_a_candidate_trained_on_shuffled_labels_fails_against_the_champion() -> None:
    gold = _frozen_set()
    champion = _model(gold, 0.9, seed=1)
    shuffled = list(_model(gold, 0.9, seed=2).labels)
    rng = random.Random(3)
    wrong = rng.sample(range(len(gold)), k=int(0.3 * len(gold)))
    for i, j in zip(wrong, rng.sample(wrong, len(wrong)), strict=True):
        shuffled[i] = _model(gold, 0.9, seed=2).labels[j]
    candidate = Predictions(tuple(shuffled), champion.confidences, champion.latencies_ms)
    result = evaluation_gate(gold=gold, candidate=candidate, champion=champion)
    failed = {check.name for check in result.failed}
    assert not result.passed
    assert "macro_f1_vs_champion" in failed
    (macro,) = [check for check in result.checks if check.name == "macro_f1_vs_champion"]
    assert macro.low is not None
    assert macro.high is not None
    assert macro.difference is not None
    assert macro.low < macro.difference < macro.high < 0


def test_an_equal_candidate_passes_against_the_champion() -> None:
    gold = _frozen_set()
    champion = _model(gold, 0.9, seed=1)
    result = evaluation_gate(gold=gold, candidate=champion, champion=champion)
    assert result.passed
    (macro,) = [check for check in result.checks if check.name == "macro_f1_vs_champion"]
    assert (macro.low, macro.difference, macro.high) == (0.0, 0.0, 0.0)
    assert {check.name for check in result.checks} >= {"oos_recall_vs_champion"}


def test_bootstrap_is_deterministic_under_a_seed_and_resamples_every_item_count() -> None:
    first = paired_bootstrap_weights(items=50, resamples=200, seed=7)
    assert np.array_equal(first, paired_bootstrap_weights(items=50, resamples=200, seed=7))
    assert not np.array_equal(first, paired_bootstrap_weights(items=50, resamples=200, seed=8))
    assert (first.sum(axis=1) == 50).all()
    gold = _frozen_set()
    champion, candidate = _model(gold, 0.9, seed=1), _model(gold, 0.85, seed=2)
    runs = [evaluation_gate(gold=gold, candidate=candidate, champion=champion) for _ in range(2)]
    assert runs[0] == runs[1]


def test_an_intent_below_its_floor_and_a_slow_model_fail() -> None:
    gold = _frozen_set()
    model = _model(gold, 0.9, seed=1)
    labels = ["intent_1" if label == "intent_0" else label for label in model.labels]
    slow = Predictions(tuple(labels), model.confidences, tuple(250.0 for _ in gold))
    result = evaluation_gate(gold=gold, candidate=slow)
    assert {check.name for check in result.failed} == {"intent_f1:intent_0", "latency_p95_ms"}
    (latency,) = [check for check in result.checks if check.name == "latency_p95_ms"]
    assert (latency.value, latency.threshold) == (250.0, 100.0)


def test_nearest_rank_percentile() -> None:
    assert nearest_rank([float(v) for v in range(1, 101)], 0.95) == 96.0
    assert nearest_rank([3.0], 0.95) == 3.0


def test_an_intent_the_champion_already_fails_holds_the_candidate_to_the_champion() -> None:
    gold = _frozen_set()
    base = _model(gold, 0.9, seed=2)
    # Both models miss intent_0 entirely; the candidate is no worse there, so it passes that
    # intent's check; alone (no champion) it fails it.
    never_0 = tuple(
        "intent_1" if g == "intent_0" else p for g, p in zip(gold, base.labels, strict=True)
    )
    champion = Predictions(never_0, base.confidences, base.latencies_ms)
    candidate = Predictions(never_0, base.confidences, base.latencies_ms)
    result = evaluation_gate(gold=gold, candidate=candidate, champion=champion)
    (check,) = [c for c in result.checks if c.name == "intent_f1:intent_0"]
    assert (check.value, check.threshold, check.passed) == (0.0, 0.0, True)
    alone = evaluation_gate(gold=gold, candidate=candidate)
    assert "intent_f1:intent_0" in {c.name for c in alone.failed}
