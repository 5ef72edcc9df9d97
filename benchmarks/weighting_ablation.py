"""Task-weighting ablation: the same three-task mixture trained with each weighting, over seeds.

    .venv/bin/python -m benchmarks.weighting_ablation [--seeds 13,14,15] [--weightings equal,dwa]

The mixture is the bank's (BANKING77 intents, WOZ 2.0 slots, Bitext sentiment), scaled down in
``ml/configs/nlu_weighting_ablation.yaml`` (20 examples per intent, 1,000 slot turns, 500
sentiment rows) so that one run takes a couple of minutes. The seed also draws the data, and
every weighting sees the same draw for a seed, so the comparison is paired: the result gives
each weighting's mean and spread, and each adaptive weighting's mean paired difference from the
plain sum. Writes ``benchmarks/results/weighting_ablation.json`` and a picture beside it.
"""

import argparse
import json
import statistics
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from benchmarks.common import machine
from ml.nlu.config import config_load
from ml.nlu.evaluate import evaluate, split_of
from ml.nlu.runtime import NluRuntime
from ml.nlu.train import train

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ROOT / "var" / "models" / "nlu-ablation"
CONFIG = ROOT / "ml" / "configs" / "nlu_weighting_ablation.yaml"
MEASURES = ("intent_accuracy", "slot_f1", "sentiment_accuracy")


def run_one(weighting: str, seed: int) -> dict[str, float]:
    config = config_load(CONFIG)
    config = replace(config, training=replace(config.training, loss_weighting=weighting, seed=seed))
    directory = MODELS / f"{weighting}-{seed}"
    result = train(config, out_dir=directory)
    model = NluRuntime().load(f"{weighting}-{seed}", directory)
    metrics = evaluate(model, split_of(directory, "test"))
    return {
        "intent_accuracy": round(metrics["accuracy"], 4),
        "slot_f1": round(metrics["slot_f1"], 4),
        "sentiment_accuracy": round(metrics["sentiment_accuracy"], 4),
        "train_seconds": round(result.seconds, 1),
    }


def picture(runs: dict[str, dict[int, dict[str, float]]], path: Path) -> None:
    figure, axes = plt.subplots(1, len(MEASURES), figsize=(4 * len(MEASURES), 3.2))
    names = list(runs)
    for axis, measure in zip(axes, MEASURES, strict=True):
        for x, name in enumerate(names):
            values = [r[measure] for r in runs[name].values()]
            axis.scatter([x] * len(values), values, color="tab:blue", alpha=0.6)
            axis.errorbar(
                x, statistics.mean(values), yerr=statistics.pstdev(values), fmt="_k", capsize=6
            )
        axis.set_xticks(range(len(names)), names)
        axis.set_title(measure.replace("_", " "))
    figure.suptitle("Task weighting, one dot per seed (test splits)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="13,14,15")
    parser.add_argument("--weightings", default="equal,dwa,uncertainty")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    weightings = [w for w in args.weightings.split(",") if w]
    if "equal" not in weightings:
        sys.exit("the ablation compares against the plain sum: include equal in --weightings")
    torch.manual_seed(0)
    runs: dict[str, dict[int, dict[str, float]]] = {w: {} for w in weightings}
    for seed in seeds:
        for weighting in weightings:
            print(f"== {weighting}, seed {seed}", flush=True)
            runs[weighting][seed] = run_one(weighting, seed)
            print(json.dumps(runs[weighting][seed]), flush=True)
    metrics: dict[str, Any] = {}
    for weighting, by_seed in runs.items():
        for measure in MEASURES:
            values = [r[measure] for r in by_seed.values()]
            metrics[f"ablation_{weighting}_{measure}_mean"] = round(statistics.mean(values), 4)
            metrics[f"ablation_{weighting}_{measure}_std"] = round(statistics.pstdev(values), 4)
            if weighting != "equal":
                differences = [r[measure] - runs["equal"][s][measure] for s, r in by_seed.items()]
                key = f"ablation_{weighting}_minus_equal_{measure}"
                metrics[f"{key}_mean"] = round(statistics.mean(differences), 4)
                metrics[f"{key}_wins"] = sum(d > 0 for d in differences)
    metrics["ablation_seeds"] = len(seeds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    picture(runs, RESULTS / "weighting_ablation.png")
    result = {
        "name": "weighting_ablation",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.weighting_ablation", *sys.argv[1:]]),
        "machine": {**machine(), "torch_threads": torch.get_num_threads()},
        "metrics": metrics,
        "runs": {w: {str(s): r for s, r in by_seed.items()} for w, by_seed in runs.items()},
    }
    (RESULTS / "weighting_ablation.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
