"""The evaluation gate: may a candidate model serve customers at all?

Both models predict the same items of the workspace's frozen evaluation set (which no training
run ever sees, ``ml.mlops.hygiene``). Checks, each a ``GateCheck`` with its numbers:

- ``intent_f1:<intent>``: the candidate's F1 of every intent with at least
  ``f1_min_support`` gold items is at least ``intent_f1_floor`` (F1 = 2 TP / (2 TP + FP + FN)),
  or, with a champion that is itself below the floor there, at least the champion's F1: an
  intent the serving model already fails does not block a candidate that is no worse on it.
- ``latency_p95_ms``: the candidate's 95th-percentile latency (nearest rank) is within
  ``latency_p95_budget_ms``.
- ``ece``: the candidate's expected calibration error is at most ``max_ece``. With the items'
  top confidences split into ``ece_bins`` equal-width bins ``(b-1)/B < c <= b/B``,
  ``ECE = sum_b (n_b / n) * |accuracy_b - mean confidence_b|`` (Guo et al. 2017), where
  accuracy is the share of the bin's items whose predicted label is the gold label.
- With a champion, ``macro_f1_vs_champion`` and ``oos_recall_vs_champion``: the candidate minus
  the champion, judged by a paired bootstrap: ``bootstrap_resamples`` resamples of the items
  with replacement (seeded), the same resample scoring both models, and the 2.5% and 97.5%
  percentiles of the differences as the 95% interval. The check fails when the interval's
  lower bound is below ``-margin``: the candidate may be worse than the champion by more than
  the margin. Macro-F1 is the mean F1 over the labels present among a sample's gold labels
  (out of scope included); out-of-scope recall is the share of gold out-of-scope items
  predicted out of scope.

Without a champion (the first model) only the absolute checks apply. A check that cannot be
computed (no out-of-scope item, no latencies) is listed in ``skipped`` with the reason.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml.nlu.metrics import expected_calibration_error

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class GateConfig:
    """Defaults: an intent below F1 0.5 on 5+ frozen items is broken; a candidate may lose at
    most 2 points of macro-F1 or out-of-scope recall against the champion (at the interval's
    lower bound); the NLU answers within 100 ms at p95 (it measures ~10-30 ms on 2 cores);
    ECE at most 0.10 (the shipped models measure 0.01-0.02 after temperature scaling)."""

    intent_f1_floor: float = 0.5
    f1_min_support: int = 5
    macro_f1_margin: float = 0.02
    oos_recall_margin: float = 0.02
    latency_p95_budget_ms: float = 100.0
    max_ece: float = 0.10
    ece_bins: int = 15
    bootstrap_resamples: int = 1000
    confidence_level: float = 0.95
    seed: int = 0
    oos_label: str = OUT_OF_SCOPE


@dataclass(frozen=True)
class Predictions:
    """One model's predictions for the evaluation items, in the items' order: the predicted
    label (``oos_label`` for out of scope), its confidence in [0, 1], and the time it took."""

    labels: tuple[str, ...]
    confidences: tuple[float, ...]
    latencies_ms: tuple[float, ...] = ()


@dataclass(frozen=True)
class GateCheck:
    """``value`` is compared with ``threshold``: at least it for floors and lower bounds, at
    most it for budgets. For a champion comparison ``value`` is the interval's lower bound,
    ``low``/``high`` the interval and ``difference`` the point difference (candidate minus
    champion)."""

    name: str
    value: float
    threshold: float
    passed: bool
    difference: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class GateResult:
    passed: bool
    checks: tuple[GateCheck, ...]
    skipped: tuple[tuple[str, str], ...]  # (check name, why it was not computed)

    @property
    def failed(self) -> tuple[GateCheck, ...]:
        return tuple(check for check in self.checks if not check.passed)


def evaluation_gate(
    *,
    gold: Sequence[str],
    candidate: Predictions,
    champion: Predictions | None = None,
    config: GateConfig = GateConfig(),
) -> GateResult:
    """Every check of the module docstring for ``candidate`` (against ``champion`` if any)."""
    for model in (candidate, champion):
        if model is not None and len(model.labels) != len(gold):
            raise ValueError(f"{len(model.labels)} predictions for {len(gold)} gold items")
    if not gold:
        raise ValueError("an evaluation gate needs at least one frozen item")
    checks: list[GateCheck] = []
    skipped: list[tuple[str, str]] = []
    classes = sorted(set(gold) | set(candidate.labels) | set(champion.labels if champion else ()))
    index = {label: i for i, label in enumerate(classes)}
    gold_codes = np.array([index[label] for label in gold])
    candidate_codes = np.array([index[label] for label in candidate.labels])

    tp, gold_count, predicted_count = _class_counts(
        np.ones((1, len(gold))), gold_codes, candidate_codes, len(classes)
    )
    if champion is not None:
        champion_codes = np.array([index[label] for label in champion.labels])
        champion_tp, _, champion_predicted = _class_counts(
            np.ones((1, len(gold))), gold_codes, champion_codes, len(classes)
        )
    for label in sorted(set(gold)):
        k = index[label]
        if label == config.oos_label or gold_count[0, k] < config.f1_min_support:
            continue
        f1 = float(2 * tp[0, k] / (gold_count[0, k] + predicted_count[0, k]))
        floor = config.intent_f1_floor
        if champion is not None:
            served = float(2 * champion_tp[0, k] / (gold_count[0, k] + champion_predicted[0, k]))
            floor = min(floor, served)
        checks.append(GateCheck(f"intent_f1:{label}", f1, floor, f1 >= floor))

    if candidate.latencies_ms:
        p95 = nearest_rank(candidate.latencies_ms, 0.95)
        budget = config.latency_p95_budget_ms
        checks.append(GateCheck("latency_p95_ms", p95, budget, p95 <= budget))
    else:
        skipped.append(("latency_p95_ms", "no latencies measured"))

    correct = np.array([p == g for p, g in zip(candidate.labels, gold, strict=True)])
    ece = expected_calibration_error(
        np.asarray(candidate.confidences, dtype=np.float64), correct, config.ece_bins
    )
    checks.append(GateCheck("ece", ece, config.max_ece, ece <= config.max_ece))

    if champion is None:
        skipped.append(("vs_champion", "no champion: only the absolute checks apply"))
    else:
        champion_codes = np.array([index[label] for label in champion.labels])
        weights = paired_bootstrap_weights(
            items=len(gold), resamples=config.bootstrap_resamples, seed=config.seed
        )
        full = np.ones((1, len(gold)))
        comparisons = [("macro_f1_vs_champion", _macro_f1, config.macro_f1_margin)]
        if config.oos_label in index and (gold_codes == index[config.oos_label]).any():
            comparisons.append(("oos_recall_vs_champion", _oos_recall, config.oos_recall_margin))
        else:
            skipped.append(("oos_recall_vs_champion", "no out-of-scope item in the frozen set"))
        for name, metric, margin in comparisons:
            args = (gold_codes, len(classes), index.get(config.oos_label, -1))
            point = metric(full, candidate_codes, *args) - metric(full, champion_codes, *args)
            differences = metric(weights, candidate_codes, *args) - metric(
                weights, champion_codes, *args
            )
            tail = (1.0 - config.confidence_level) / 2 * 100
            low, high = (float(v) for v in np.percentile(differences, [tail, 100 - tail]))
            checks.append(GateCheck(name, low, -margin, low >= -margin, float(point[0]), low, high))
    return GateResult(
        passed=all(check.passed for check in checks), checks=tuple(checks), skipped=tuple(skipped)
    )


def paired_bootstrap_weights(*, items: int, resamples: int, seed: int) -> NDArray[np.float64]:
    """(resamples x items) counts: how often each item is drawn in each resample of ``items``
    drawn with replacement. Both models are scored on the same rows."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(items, np.full(items, 1.0 / items), size=resamples).astype(np.float64)


def _macro_f1(
    weights: NDArray[np.float64],
    predicted: NDArray[np.int_],
    gold: NDArray[np.int_],
    classes: int,
    oos: int = -1,
) -> NDArray[np.float64]:
    """Macro-F1 for every row of item ``weights`` (mean F1 over labels with gold weight > 0)."""
    tp, gold_count, predicted_count = _class_counts(weights, gold, predicted, classes)
    present = gold_count > 0
    f1 = np.where(present, 2 * tp / np.maximum(gold_count + predicted_count, 1e-12), 0.0)
    return np.asarray(f1.sum(axis=1) / present.sum(axis=1), dtype=np.float64)


def _oos_recall(
    weights: NDArray[np.float64],
    predicted: NDArray[np.int_],
    gold: NDArray[np.int_],
    classes: int,
    oos: int = -1,
) -> NDArray[np.float64]:
    is_oos = gold == oos
    caught = weights @ (is_oos & (predicted == oos))
    return np.asarray(caught / np.maximum(weights @ is_oos, 1e-12), dtype=np.float64)


def _class_counts(
    weights: NDArray[np.float64], gold: NDArray[np.int_], predicted: NDArray[np.int_], classes: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Weighted true positives, gold counts and predicted counts per class, per weight row."""
    gold_onehot = np.eye(classes)[gold]
    predicted_onehot = np.eye(classes)[predicted]
    hit = gold_onehot * (gold == predicted)[:, None]
    return weights @ hit, weights @ gold_onehot, weights @ predicted_onehot


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The q-quantile by the nearest-rank method (the same as ``benchmarks.common.percentile``)."""
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])
