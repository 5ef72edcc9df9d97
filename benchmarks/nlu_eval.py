"""NLU benchmark: trains and evaluates the multi-task LoRA models on public datasets.

    .venv/bin/python -m benchmarks.nlu_eval [--only banking77,clinc150,...] [--reuse]
    .venv/bin/python -m benchmarks.nlu_eval --config my_data.yaml [--results PATH] [--reuse]

Runs (each trains with ``ml.nlu.train`` from ``ml/configs/nlu_<run>.yaml``, then evaluates on
the dataset's test split with ``ml.nlu.evaluate``):

- ``banking77``: the multi-task model (BANKING77 intents + WOZ 2.0 slots + Bitext sentiment,
  task weights learned as uncertainty); BANKING77 test accuracy, WOZ 2.0 test slot F1, latency,
  throughput, int8 quantization, SHAP explanation time.
- ``banking77_single``: intent only, trained the same way (the multi-task comparison).
- ``banking77_equal``: the multi-task model with a plain sum of losses (the weighting ablation).
- ``banking77_dwa``: the same with dynamic weight average (Liu et al., 2019).
- ``banking77_10shot``: 10 examples per intent.
- ``clinc150``: data_full (its 100 out-of-scope training queries taught by outlier exposure),
  in-scope accuracy and out-of-scope recall at the configured threshold (the mix of the kNN
  distances in the fine-tuned and the base encoder's spaces, catching 90 % of the validation
  out-of-scope queries), at Youden's J on the same score, at 85 % of validation, and with each
  distance alone.

Beside every run: a frozen-encoder baseline (the shipped MiniLM, mean pooled and normalised, with
scikit-learn's logistic regression; C chosen on the run's validation split) trained on exactly the
run's training examples with an intent, and tested on the same test split's in-scope rows:
``<run>_baseline_lr_test_accuracy`` beside ``<run>_test_accuracy``, and both models' validation
accuracy (``<run>_validation_accuracy``, ``<run>_baseline_lr_validation_accuracy``), which is
what a choice between them may look at.

``--config`` trains and evaluates any config (your own data through a ``jsonl`` source, say;
``ml/nlu/README.md``): its keys are named after the config's ``name``, its test split is the
one its sources give, and it writes ``var/nlu_eval/<name>.json`` (details beside it) unless
``--results`` names another file. Only the committed runs write ``benchmarks/results/``.

WOZ 2.0 slot F1 is reported two ways: exact spans (against the spans found for the gold values)
and values (the tagged span mapped to an ontology value, against every gold food / area /
price-range value of the turn except ``dontcare``, so values that don't appear in the text count
as misses). Writes ``benchmarks/results/nlu.json`` (merging with earlier runs of other parts;
``runs`` says when, on which machine and with which command each part was last measured) and
per-run details with pictures under ``benchmarks/results/nlu/``.
"""

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import machine, percentile
from ml.datasets import datasets_dir
from ml.encoders import minilm_path
from ml.nlu.config import config_load
from ml.nlu.contracts import Example
from ml.nlu.data import woz2
from ml.nlu.evaluate import data_of, evaluate, split_of
from ml.nlu.explain import explain
from ml.nlu.runtime import NluModel, NluRuntime
from ml.nlu.train import train
from ml.retrieval.encoder import DenseEncoder

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ROOT / "var" / "models" / "nlu-benchmark"
OWN_RESULTS = ROOT / "var" / "nlu_eval"  # --config runs
OWN_MODELS = ROOT / "var" / "models" / "nlu-eval"
RUNS = (
    "banking77",
    "banking77_single",
    "banking77_equal",
    "banking77_dwa",
    "banking77_10shot",
    "clinc150",
)
LATENCY_MESSAGES = 500
SHAP_TEXTS = 20
BASELINE_C = (0.5, 2.0, 8.0, 32.0, 128.0)  # inverse L2 strengths tried on validation


def train_or_reuse(config_path: Path, directory: Path, reuse: bool) -> tuple[Path, dict[str, Any]]:
    """The run's artifact folder and how its training went (its meta.json)."""
    if not (reuse and (directory / "manifest.json").is_file()):
        train(config_load(config_path), out_dir=directory)
    return directory, json.loads((directory / "meta.json").read_text())


def in_scope(examples: Sequence[Example]) -> list[Example]:
    return [e for e in examples if e.intent and not e.is_oos]


def baseline_lr(directory: Path) -> dict[str, Any]:
    """The frozen-encoder baseline for the run in ``directory``: logistic regression on the
    shipped MiniLM's sentence embeddings of the run's own training examples (those with an
    intent), C chosen on its validation split, accuracy on its test split's in-scope rows."""
    from sklearn.linear_model import LogisticRegression

    data = data_of(directory)
    train_rows, validation, test = (
        in_scope(data.train),
        in_scope(data.validation),
        in_scope(data.test),
    )
    encoder = DenseEncoder(minilm_path())
    x_train, x_validation, x_test = (
        encoder.encode([e.text for e in rows]) for rows in (train_rows, validation, test)
    )
    y_train, y_validation, y_test = (
        np.array([e.intent for e in rows]) for rows in (train_rows, validation, test)
    )
    best: tuple[float, float, Any] = (-1.0, 0.0, None)
    for c in BASELINE_C:  # ties keep the smaller C
        fit = LogisticRegression(C=c, max_iter=3000).fit(x_train, y_train)
        accuracy = float((fit.predict(x_validation) == y_validation).mean())
        if accuracy > best[0] + 1e-9:
            best = (accuracy, c, fit)
    accuracy, c, fit = best
    return {
        "baseline_lr_validation_accuracy": accuracy,
        "baseline_lr_c": c,
        "baseline_lr_test_accuracy": float((fit.predict(x_test) == y_test).mean()),
    }


def test_split(directory: Path) -> list[Any]:
    return split_of(directory, "test")


def woz_value_f1(model: NluModel) -> dict[str, float]:
    folder = datasets_dir() / "woz2"
    finder = woz2.finder_for(folder)
    turns = woz2.read_turns(folder, "test")
    results = model.predict([str(t["transcript"]) for t in turns], top_k=1)
    tp = fp = fn = 0
    for turn, result in zip(turns, results, strict=True):
        gold = {
            (slot, finder.normalize(slot.replace("_", " "), value))
            for slot, value in woz2.gold_values(turn)
        }
        predicted = {
            (span.slot, finder.normalize(span.slot.replace("_", " "), span.value))
            for span in result.slots
            if span.slot in woz2.SLOT_NAMES.values()
        }
        tp += len(gold & predicted)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {
        "value_precision": precision,
        "value_recall": recall,
        "value_f1": 2 * precision * recall / max(1e-9, precision + recall),
    }


def speed(model: NluModel, texts: list[str]) -> dict[str, float]:
    for text in texts[:20]:
        model.predict([text])
    single = []
    for text in texts[:LATENCY_MESSAGES]:
        started = time.perf_counter()
        model.predict([text])
        single.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    model.predict(texts, batch_size=64)
    throughput = len(texts) / (time.perf_counter() - started)
    return {
        "latency_p50_ms": percentile(single, 0.5),
        "latency_p95_ms": percentile(single, 0.95),
        "throughput_per_s": round(throughput, 1),
    }


def shap_seconds(model: NluModel, texts: list[str]) -> dict[str, float]:
    explain(model, texts[0])  # the first call builds the explainer's machinery
    seconds = [explain(model, text).seconds for text in texts[1 : SHAP_TEXTS + 1]]
    return {
        "shap_seconds_p50": percentile(seconds, 0.5),
        "shap_seconds_p95": percentile(seconds, 0.95),
    }


def flat(prefix: str, metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{prefix}_{k}": round(v, 4) if isinstance(v, float) else v
        for k, v in metrics.items()
        if not isinstance(v, dict)
    }


def run_one(
    run: str,
    config_path: Path,
    reuse: bool,
    *,
    models: Path,
    details: Path,
    committed: bool,
    timing: bool = True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's metrics, and how its training went (meta.json). ``committed``: one of the
    committed runs, which get their extra measurements (slot values, speed, operating points);
    ``timing``: measure latency, throughput and SHAP time (only worth it on a quiet machine)."""
    directory, meta = train_or_reuse(config_path, models / run, reuse)
    runtime = NluRuntime()
    model = runtime.load(run, directory)
    examples = test_split(directory)
    metrics = evaluate(model, examples, plots_dir=details, title=run)
    details.mkdir(parents=True, exist_ok=True)
    (details / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    out: dict[str, Any] = {f"{run}_train_seconds": round(float(meta["train_seconds"]), 1)}
    intents_only = in_scope(examples)
    if intents_only:
        intent_metrics = evaluate(model, intents_only)
        out[f"{run}_test_accuracy"] = round(intent_metrics["accuracy"], 4)
        out[f"{run}_test_macro_f1"] = round(intent_metrics["macro_f1"], 4)
        out[f"{run}_test_ece"] = round(intent_metrics["ece"], 4)
        validation = evaluate(model, in_scope(split_of(directory, "validation")))
        out[f"{run}_validation_accuracy"] = round(validation["accuracy"], 4)
        out.update(flat(run, baseline_lr(directory)))
        if model.probe is not None:  # each half of the mix alone, for comparison
            probe = model.probe
            out[f"{run}_probe_mix"] = probe.mix
            for name, alone in (("head_only", None), ("probe_only", replace(probe, mix=1.0))):
                model.probe = alone
                out[f"{run}_{name}_test_accuracy"] = round(
                    evaluate(model, intents_only)["accuracy"], 4
                )
            model.probe = probe
    for task_key in ("slot_f1", "sentiment_accuracy", "negative_recall"):
        if task_key in metrics:
            out[f"{run}_{task_key}"] = round(metrics[task_key], 4)
    if not committed:
        out.update(flat(run, {k: v for k, v in metrics.items() if k.startswith("oos")}))
        return out, meta
    if run in ("banking77", "banking77_equal", "banking77_uncertainty"):
        out.update(flat(f"{run}_woz2", woz_value_f1(model)))
    if run == "banking77":
        texts = [e.text for e in examples if e.intent]
        if timing:
            out.update(flat("nlu", speed(model, texts)))
            out.update(flat("nlu", shap_seconds(model, texts)))
        quantized = NluRuntime(quantize=True).load("int8", directory)
        int8 = evaluate(quantized, [e for e in examples if e.intent])
        out["banking77_int8_test_accuracy"] = round(int8["accuracy"], 4)
        if timing:
            out.update(flat("nlu_int8", speed(quantized, texts)))
    if run == "clinc150":
        validation = split_of(directory, "validation")
        inside = [e.text for e in validation if e.intent]
        outside = [e.text for e in validation if e.is_oos]

        def operating_point(name: str, **refit: Any) -> None:
            """Refits out-of-scope detection on validation only, then measures test."""
            model.oos_refit(inside, outside, **refit)
            at = evaluate(model, examples)
            out.update(
                flat(name, {k: v for k, v in at.items() if k.startswith(("oos", "inscope"))})
            )

        # Beside the configured operating point: Youden's J on the same score, and each
        # distance alone at the configured rule (the ablation of the mix).
        operating_point("clinc150_youden", rule="youden")
        # The aim's own recall as the validation target: with 100 validation out-of-scope
        # queries it lands on either side of 0.85 on test about as often (the config aims
        # higher for that reason).
        operating_point("clinc150_recall85", target_recall=0.85)
        training = [e.text for e in split_of(directory, "train") if e.intent]
        recall = config_load(directory / "config.yaml").oos.target_recall
        for method in ("knn", "knn_base"):
            operating_point(
                f"clinc150_{method}", target_recall=recall, method=method, bank=training
            )
        out.update(
            flat(
                "clinc150",
                {
                    k: v
                    for k, v in metrics.items()
                    if k.startswith(("oos", "inscope", "accuracy", "ece"))
                },
            )
        )
    return out, meta


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(RUNS), help="comma-separated committed runs")
    parser.add_argument("--config", type=Path, help="run this config instead (its name keys it)")
    parser.add_argument(
        "--results",
        type=Path,
        help="JSON file to merge into (default: benchmarks/results/nlu.json for the committed "
        "runs, var/nlu_eval/<name>.json for --config)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="evaluate existing models, don't retrain"
    )
    parser.add_argument(
        "--no-timing",
        action="store_true",
        help="skip latency, throughput and SHAP timings (a shared machine): the file keeps "
        "the earlier ones",
    )
    args = parser.parse_args()
    if args.config:
        name = config_load(args.config).name
        runs = {name: args.config}
        path = args.results or OWN_RESULTS / f"{name}.json"
        models, details = OWN_MODELS, path.parent / path.stem
    else:
        chosen = [r for r in args.only.split(",") if r]
        unknown = set(chosen) - set(RUNS)
        if unknown:
            sys.exit(f"unknown run(s) {sorted(unknown)}; known: {RUNS}")
        runs = {r: ROOT / "ml" / "configs" / f"nlu_{r}.yaml" for r in chosen}
        path = args.results or RESULTS / "nlu.json"
        models, details = MODELS, path.parent / path.stem
    torch.manual_seed(0)
    found: dict[str, Any] = {}  # this invocation's metrics
    measured: dict[str, Any] = {}  # and runs
    command = " ".join(["python -m benchmarks.nlu_eval", *sys.argv[1:]])
    here = {**machine(), "torch_threads": torch.get_num_threads()}
    for run, config_path in runs.items():
        print(f"== {run}", flush=True)
        metrics_of_run, meta = run_one(
            run,
            config_path,
            args.reuse,
            models=models,
            details=details / run,
            committed=not args.config,
            timing=not args.no_timing,
        )
        found.update(metrics_of_run)
        measured[run] = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": here,
            "command": command,
            # How training went: why it stopped, and how much of its budget it ran.
            "training": {
                k: meta[k]
                for k in ("stop_reason", "steps", "steps_planned", "epochs_completed", "warning")
                if k in meta
            },
        }
        # Merged into the file as it is now: another benchmark may have written to it meanwhile.
        previous = json.loads(path.read_text()) if path.is_file() else {}
        if args.no_timing and run == "banking77" and run in previous.get("runs", {}):
            # The timings in the file are the earlier run's: say when and where they were taken.
            earlier = previous["runs"][run]
            measured[run]["timings_measured"] = earlier.get(
                "timings_measured", {k: earlier[k] for k in ("when", "machine") if k in earlier}
            )
        metrics = {**previous.get("metrics", {}), **found}
        provenance = {**previous.get("runs", {}), **measured}
        path.parent.mkdir(parents=True, exist_ok=True)
        derived = {}
        if {"banking77_test_accuracy", "banking77_single_test_accuracy"} <= set(metrics):
            derived["banking77_multitask_minus_single_accuracy"] = round(
                metrics["banking77_test_accuracy"] - metrics["banking77_single_test_accuracy"], 4
            )
        if {"banking77_test_accuracy", "banking77_10shot_test_accuracy"} <= set(metrics):
            derived["banking77_10shot_accuracy"] = metrics["banking77_10shot_test_accuracy"]
        metrics.update(derived)
        result = {
            "name": path.stem,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            "machine": here,
            "runs": dict(sorted(provenance.items())),
            "metrics": dict(sorted(metrics.items())),
        }
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(
            json.dumps({k: v for k, v in metrics.items() if k.startswith(run)}, indent=1),
            flush=True,
        )


if __name__ == "__main__":
    main()
