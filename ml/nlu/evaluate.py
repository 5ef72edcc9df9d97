"""Evaluates a trained NLU model: ``python -m ml.nlu.evaluate --model DIR [--split test]``.

Intent accuracy, macro-F1 and per-intent F1; out-of-scope recall/precision/F1 and in-scope
accuracy at the chosen threshold, the AUROC of the out-of-scope score, and both per kind of
out-of-scope row when the data names kinds (``oos_kind``); calibration (ECE before and after
temperature scaling); slot F1; sentiment accuracy. Each task counts only the rows labelled for
it, and only the tasks the model was trained for. Writes JSON (default
``var/evaluations/nlu/<name>_<split>.json``; a tracked path only when ``--out`` names one), a
confusion-matrix image and a reliability diagram beside it.
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
from ml.nlu.contracts import Example, NluData
from ml.nlu.data import load_mixture
from ml.nlu.metrics import (
    auroc,
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
    tasks = set(model.meta.get("tasks", ("intent", "slots", "sentiment")))
    if not model.labels.intents:
        tasks.discard("intent")
    # A row counts only for the tasks it is labelled for (a slot-only row says nothing about
    # intents), and only for tasks the model was trained for.
    examples = [
        e
        for e in examples
        if ("intent" in tasks and (e.intent or e.is_oos))
        or ("slots" in tasks and e.slots is not None)
        or ("sentiment" in tasks and e.sentiment)
    ]
    texts = [e.text for e in examples]
    started = time.perf_counter()
    out = model.outputs(texts, batch_size)
    results = model.results(texts, out)
    seconds = time.perf_counter() - started
    metrics: dict[str, Any] = {"examples": len(examples), "seconds": round(seconds, 2)}

    intent_rows = [i for i, e in enumerate(examples) if e.intent and not e.is_oos]
    if "intent" in tasks:
        metrics["intent_examples"] = len(intent_rows)
    if intent_rows and "intent" in tasks:
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

    scope_rows = [i for i, e in enumerate(examples) if e.is_oos or e.intent]
    if "intent" in tasks and any(examples[i].is_oos for i in scope_rows):
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
        metrics["oos_examples"] = int(gold_oos.sum())
        scores = out.oos_scores(model.oos)[scope_rows]
        inscope = scores[~gold_oos]
        if len(inscope):
            metrics["oos_auroc"] = auroc(inscope, scores[gold_oos])
        kinds = np.array([examples[i].oos_kind or "" for i in scope_rows])
        for kind in sorted(set(kinds[gold_oos]) - {""}):
            rows = gold_oos & (kinds == kind)
            metrics[f"oos_examples_{kind}"] = int(rows.sum())
            metrics[f"oos_recall_{kind}"] = float(flagged[rows].mean())
            if len(inscope):
                metrics[f"oos_auroc_{kind}"] = auroc(inscope, scores[rows])

    slot_rows = [i for i, e in enumerate(examples) if e.slots is not None]
    if slot_rows and "slots" in tasks:
        metrics["slot_examples"] = len(slot_rows)
        metrics.update(
            span_f1(
                [examples[i].slots or () for i in slot_rows], [results[i].slots for i in slot_rows]
            )
        )

    sentiment_rows = [i for i, e in enumerate(examples) if e.sentiment]
    if sentiment_rows and "sentiment" in tasks:
        metrics["sentiment_examples"] = len(sentiment_rows)
        gold_s = [examples[i].sentiment for i in sentiment_rows]
        predicted_s = [results[i].sentiment for i in sentiment_rows]
        metrics["sentiment_accuracy"] = float(
            np.mean([g == p for g, p in zip(gold_s, predicted_s, strict=True)])
        )
        tp = sum(g == p == "negative" for g, p in zip(gold_s, predicted_s, strict=True))
        metrics["negative_recall"] = tp / max(1, gold_s.count("negative"))
        metrics["negative_precision"] = tp / max(1, predicted_s.count("negative"))
    return metrics


def data_of(directory: Path) -> NluData:
    """The splits a trained model's config draws (the same seed, so the same examples)."""
    raw = yaml.safe_load((directory / "config.yaml").read_text())
    config = config_from_dict(raw)
    return load_mixture(config.sources, config.training.seed, config.training.validation_fraction)


def split_of(directory: Path, split: str) -> list[Example]:
    data = data_of(directory)
    return list({"train": data.train, "validation": data.validation, "test": data.test}[split])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="an artifact folder")
    parser.add_argument("--split", choices=("validation", "test"), default="test")
    parser.add_argument(
        "--out", type=Path, help="JSON file (default: var/evaluations/nlu/<name>_<split>.json)"
    )
    parser.add_argument("--quantize", action="store_true", help="int8 dynamic quantization")
    args = parser.parse_args(argv)
    runtime = NluRuntime(quantize=args.quantize)
    model = runtime.load("evaluation", args.model)
    name = str(model.meta.get("name", args.model.name))
    suffix = "_int8" if args.quantize else ""
    out = args.out or Path("var/evaluations/nlu") / f"{name}_{args.split}{suffix}.json"
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
