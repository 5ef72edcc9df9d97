"""Evaluation metrics and the pictures that go with them."""

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import confusion_matrix, f1_score

from ml.nlu.contracts import SlotSpan


def expected_calibration_error(
    confidences: NDArray[np.float64], correct: NDArray[np.bool_], bins: int = 15
) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidences > low) & (confidences <= high)
        if inside.any():
            gap = abs(float(correct[inside].mean()) - float(confidences[inside].mean()))
            total += gap * float(inside.mean())
    return total


def intent_metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, object]:
    labels = sorted(set(gold))
    per_intent = f1_score(gold, predicted, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": float(np.mean([g == p for g, p in zip(gold, predicted, strict=True)])),
        "macro_f1": float(
            f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)
        ),
        "per_intent_f1": {
            label: round(float(f), 4) for label, f in zip(labels, per_intent, strict=True)
        },
    }


def oos_metrics(
    gold_oos: NDArray[np.bool_],
    predicted_oos: NDArray[np.bool_],
    inscope_correct: NDArray[np.bool_],
) -> dict[str, float]:
    """``inscope_correct``: for in-scope examples, intent right and not flagged out of scope."""
    tp = float((gold_oos & predicted_oos).sum())
    recall = tp / max(1.0, float(gold_oos.sum()))
    precision = tp / max(1.0, float(predicted_oos.sum()))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    inscope = ~gold_oos
    return {
        "oos_recall": recall,
        "oos_precision": precision,
        "oos_f1": f1,
        "inscope_accuracy": float(inscope_correct[inscope].mean()) if inscope.any() else 0.0,
        "inscope_flagged_oos_rate": float(predicted_oos[inscope].mean()) if inscope.any() else 0.0,
    }


def auroc(inscope: NDArray[np.floating], outside: NDArray[np.floating]) -> float:
    """The chance that an out-of-scope message scores above an in-scope one (ties count half):
    how well a score separates them, whatever the threshold."""
    from sklearn.metrics import roc_auc_score

    gold = np.r_[np.zeros(len(inscope)), np.ones(len(outside))]
    return float(roc_auc_score(gold, np.r_[inscope, outside]))


def span_f1(
    gold: Sequence[Sequence[SlotSpan]], predicted: Sequence[Sequence[SlotSpan]]
) -> dict[str, float]:
    """Exact-match F1 over (slot, start, end), micro-averaged."""
    tp = fp = fn = 0
    for g, p in zip(gold, predicted, strict=True):
        gs = {(s.slot, s.start, s.end) for s in g}
        ps = {(s.slot, s.start, s.end) for s in p}
        tp += len(gs & ps)
        fp += len(ps - gs)
        fn += len(gs - ps)
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"slot_precision": precision, "slot_recall": recall, "slot_f1": f1}


def plot_confusion(gold: Sequence[str], predicted: Sequence[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted(set(gold) | set(predicted))
    matrix = confusion_matrix(gold, predicted, labels=labels).astype(float)
    matrix /= np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(6.0, len(labels) * 0.14)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ticks = range(len(labels))
    fontsize = 9 if len(labels) <= 30 else 4
    ax.set_xticks(ticks, labels, rotation=90, fontsize=fontsize)
    ax.set_yticks(ticks, labels, fontsize=fontsize)
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(
    confidences: NDArray[np.float64],
    correct: NDArray[np.bool_],
    path: Path,
    title: str,
    bins: int = 15,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.linspace(0.0, 1.0, bins + 1)
    centres, accuracy, counts = [], [], []
    for low, high in itertools.pairwise(edges):
        inside = (confidences > low) & (confidences <= high)
        if inside.any():
            centres.append((low + high) / 2)
            accuracy.append(float(correct[inside].mean()))
            counts.append(int(inside.sum()))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.bar(centres, accuracy, width=1 / bins, edgecolor="black", alpha=0.7, label="accuracy")
    ece = expected_calibration_error(confidences, correct, bins)
    ax.set_title(f"{title}\nECE {ece:.3f}")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
