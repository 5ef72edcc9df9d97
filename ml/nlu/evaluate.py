"""Evaluates a trained NLU model: ``python -m ml.nlu.evaluate --model DIR [--split test]``.

Intent accuracy, macro-F1 and per-intent F1; out-of-scope recall/precision/F1 and in-scope
accuracy at the chosen threshold; calibration (ECE before and after temperature scaling); slot
F1; sentiment accuracy. Writes JSON, a confusion-matrix image and a reliability diagram.
"""

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from ml.nlu.config import config_from_dict
from ml.nlu.contracts import Example
from ml.nlu.data import load_mixture
from ml.nlu.metrics import (
    expected_calibration_error,
    intent_metrics,
    oos_metrics,
    plot_confusion,
    plot_reliability,
    span_f1,
)
from ml.nlu.runtime import NluModel, NluRuntime


def evaluate(
    model: NluModel,
    examples: Sequence[Example],
    *,
    plots_dir: Path | None = None,
    title: str = "",
    batch_size: int = 64,
) -> dict[str, Any]:
    texts = [e.text for e in examples]
    started = time.perf_counter()
    out = model.outputs(texts, batch_size)
    results = model.results(texts, out)
    seconds = time.perf_counter() - started
    metrics: dict[str, Any] = {"examples": len(examples), "seconds": round(seconds, 2)}

    intent_rows = [i for i, e in enumerate(examples) if e.intent and not e.is_oos]
    if intent_rows and model.labels.intents:
        gold = [examples[i].intent or "" for i in intent_rows]
        predicted = [results[i].intents[0].intent for i in intent_rows]
        metrics.update(intent_metrics(gold, predicted))
        correct = np.array([g == p for g, p in zip(gold, predicted, strict=True)])
        calibrated = torch.softmax(out.intent_logits[intent_rows] / model.oos.temperature, -1)
        raw = torch.softmax(out.intent_logits[intent_rows], -1)
        confidence = calibrated.max(-1).values.double().numpy()
        metrics["ece"] = expected_calibration_error(confidence, correct)
        metrics["ece_before_temperature"] = expected_calibration_error(
            raw.max(-1).values.double().numpy(), correct
        )
        metrics["temperature"] = model.oos.temperature
        if plots_dir is not None:
            plot_confusion(gold, predicted, plots_dir / "confusion.png", f"{title} intents")
            plot_reliability(
                confidence, correct, plots_dir / "reliability.png", f"{title} confidence"
            )

    scope_rows = [i for i, e in enumerate(examples) if e.is_oos or (e.intent and not e.is_oos)]
    if any(examples[i].is_oos for i in scope_rows):
        gold_oos = np.array([examples[i].is_oos for i in scope_rows])
        flagged = np.array([results[i].is_oos for i in scope_rows])
        right = np.array(
            [
                not results[i].is_oos and results[i].intents[0].intent == examples[i].intent
                for i in scope_rows
            ]
        )
        metrics.update(oos_metrics(gold_oos, flagged, right))
        metrics["oos_threshold"] = model.oos.threshold

    slot_rows = [i for i, e in enumerate(examples) if e.slots is not None]
    if slot_rows:
        metrics.update(
            span_f1(
                [examples[i].slots or () for i in slot_rows], [results[i].slots for i in slot_rows]
            )
        )

    sentiment_rows = [i for i, e in enumerate(examples) if e.sentiment]
    if sentiment_rows:
        gold_s = [examples[i].sentiment for i in sentiment_rows]
        predicted_s = [results[i].sentiment for i in sentiment_rows]
        metrics["sentiment_accuracy"] = float(
            np.mean([g == p for g, p in zip(gold_s, predicted_s, strict=True)])
        )
        tp = sum(g == p == "negative" for g, p in zip(gold_s, predicted_s, strict=True))
        metrics["negative_recall"] = tp / max(1, gold_s.count("negative"))
        metrics["negative_precision"] = tp / max(1, predicted_s.count("negative"))
    return metrics


def split_of(directory: Path, split: str) -> list[Example]:
    raw = yaml.safe_load((directory / "config.yaml").read_text())
    config = config_from_dict(raw)
    data = load_mixture(config.sources, config.training.seed, config.training.validation_fraction)
    return list({"train": data.train, "validation": data.validation, "test": data.test}[split])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="an artifact folder")
    parser.add_argument("--split", choices=("validation", "test"), default="test")
    parser.add_argument(
        "--out", type=Path, help="JSON file (default: benchmarks/results/nlu/<name>_<split>.json)"
    )
    parser.add_argument("--quantize", action="store_true", help="int8 dynamic quantization")
    args = parser.parse_args(argv)
    runtime = NluRuntime(quantize=args.quantize)
    model = runtime.load("evaluation", args.model)
    name = str(model.meta.get("name", args.model.name))
    suffix = "_int8" if args.quantize else ""
    out = args.out or Path("benchmarks/results/nlu") / f"{name}_{args.split}{suffix}.json"
    examples = [replace(e) for e in split_of(args.model, args.split)]
    metrics = evaluate(model, examples, plots_dir=out.with_suffix(""), title=name)
    result = {
        "name": f"nlu_{name}_{args.split}{suffix}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": str(args.model),
        "metrics": metrics,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, dict)}, indent=1))


if __name__ == "__main__":
    main()
