"""Routing accuracy of the demo bots on a mixed test set, one turn each.

    .venv/bin/python -m benchmarks.routing_eval

Bank (BANKING77 model, ``var/models/nlu-benchmark/banking77`` from ``benchmarks.nlu_eval``) and
shop (Bitext model, trained here from ``ml/configs/nlu_bitext.yaml`` when missing), each routed
with its demo settings and flows (``apps/dialogue/demo_data/*.json``):

- held-out intent queries: BANKING77 test / the Bitext test split -> ``flow`` for a flow's
  intent, ``handoff`` for a sensitive or handoff intent, else ``faq``;
- CLINC150 ``oos_test`` (1,000 queries) -> ``clarify``;
- explicit requests for a person (``benchmarks/data/routing/handoff_requests.txt``) -> ``handoff``.

Each query is routed as the product routes a first message: conversation control
(``ml/dialogue/control.py``), the flows' trigger phrasings, then the intent model.

Out-of-scope detection is refitted on validation data first, as the product does it for
workspaces (``ml/nlu/oos.py``): the score is kNN distance to the model's training examples in the
base encoder's space (``--method knn_base``; ``knn`` measures it in the fine-tuned space), and the
threshold is fitted on the model's own held-out in-scope examples against CLINC150 ``oos_val``
(never the test queries), flagging at even odds (``--rule even_odds``) or at Youden's J
(``--rule youden``). Writes ``benchmarks/results/<--output>.json`` with the confusion between
routes.
"""

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import machine
from ml.datasets import datasets_dir
from ml.dialogue.control import control_read
from ml.dialogue.flows import FlowSpec
from ml.dialogue.policy import RoutingConfig, route_decide
from ml.dialogue.state import DialogueState, state_update
from ml.dialogue.triggers import trigger_match
from ml.nlu.config import OOS_RULES, config_load
from ml.nlu.evaluate import split_of
from ml.nlu.runtime import NluModel, NluRuntime
from ml.nlu.train import train

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ROOT / "var" / "models" / "nlu-benchmark"
DEMO = ROOT / "apps" / "dialogue" / "demo_data"
ROUTES = ("faq", "flow", "smalltalk", "clarify", "handoff")


def routing_config(name: str) -> RoutingConfig:
    spec = json.loads((DEMO / f"{name}.json").read_text())
    settings = spec["settings"]
    return RoutingConfig(
        flows={
            f["intent"]: FlowSpec.from_json({"name": f["name"], "intent": f["intent"], **f["spec"]})
            for f in spec["flows"]
        },
        handoff_intents=frozenset(settings.get("handoff_intents", ())),
        sensitive_intents=frozenset(settings.get("sensitive_intents", ())),
        min_confidence=float(settings.get("min_confidence", 0.5)),
    )


def expected_route(intent: str, config: RoutingConfig) -> str:
    if intent in config.handoff_intents or intent in config.sensitive_intents:
        return "handoff"
    return "flow" if intent in config.flows else "faq"


def model_for(run: str, runtime: NluRuntime) -> tuple[NluModel, Path]:
    directory = MODELS / run
    if not (directory / "manifest.json").is_file():
        train(config_load(ROOT / "ml" / "configs" / f"nlu_{run}.yaml"), out_dir=directory)
    return runtime.load(run, directory), directory


def evaluate(
    name: str, run: str, runtime: NluRuntime, oos: dict[str, list[str]], rule: str, method: str
) -> dict[str, Any]:
    config = routing_config(name)
    model, directory = model_for(run, runtime)
    validation = [e.text for e in split_of(directory, "validation") if e.intent]
    training = [e.text for e in split_of(directory, "train") if e.intent]
    threshold = model.oos_refit(validation, oos["val"], rule=rule, method=method, bank=training)
    cases: list[tuple[str, str]] = [
        (e.text, expected_route(e.intent or "", config))
        for e in split_of(directory, "test")
        if e.intent
    ]
    cases += [(text, "clarify") for text in oos["test"]]
    handoff_file = ROOT / "benchmarks" / "data" / "routing" / "handoff_requests.txt"
    cases += [
        (line.strip(), "handoff")
        for line in handoff_file.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    results = model.predict([text for text, _ in cases], top_k=3)
    confusion: Counter[tuple[str, str]] = Counter()
    triggers = {f.name: f.triggers for f in config.flows.values() if f.triggers}
    for (text, gold), nlu in zip(cases, results, strict=True):
        # As the product routes a first message: conversation control, then trigger phrasings.
        control = control_read(text)
        trigger = trigger_match(control.rest or text, triggers) if control.act is None else None
        state = state_update(
            DialogueState(),
            nlu,
            low_confidence=config.min_confidence,
            conversational=control.act is not None,
        )
        route = route_decide(state, nlu, config, control=control, trigger=trigger)
        confusion[(gold, route.name)] += 1
    right = sum(n for (gold, got), n in confusion.items() if gold == got)
    per_route = {
        route: round(
            confusion[(route, route)]
            / max(1, sum(n for (g, _), n in confusion.items() if g == route)),
            4,
        )
        for route in ROUTES
        if any(g == route for g, _ in confusion)
    }
    return {
        "cases": len(cases),
        "accuracy": right / len(cases),
        "recall_by_route": per_route,
        "oos_threshold": threshold,
        "confusion": {f"{g}->{p}": n for (g, p), n in sorted(confusion.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rule", choices=OOS_RULES, default="even_odds")
    parser.add_argument("--method", choices=("knn_base", "knn"), default="knn_base")
    parser.add_argument("--output", default="routing")
    args = parser.parse_args()
    raw = json.loads((datasets_dir() / "clinc150" / "data_full.json").read_text())
    oos = {"val": [t for t, _ in raw["oos_val"]], "test": [t for t, _ in raw["oos_test"]]}
    runtime = NluRuntime()
    parts = {
        "bank": evaluate("bank", "banking77", runtime, oos, args.rule, args.method),
        "shop": evaluate("retail", "bitext", runtime, oos, args.rule, args.method),
    }
    total = sum(p["cases"] for p in parts.values())
    right = sum(p["accuracy"] * p["cases"] for p in parts.values())
    metrics: dict[str, Any] = {
        "route_accuracy": round(right / total, 4),
        "route_cases": total,
        "oos_rule": args.rule,
        "oos_method": args.method,
    }
    for name, part in parts.items():
        metrics[f"route_{name}_accuracy"] = round(part["accuracy"], 4)
        for route, recall in part["recall_by_route"].items():
            metrics[f"route_{name}_{route}_recall"] = recall
    result = {
        "name": "routing",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.routing_eval", *sys.argv[1:]]),
        "machine": machine(),
        "metrics": metrics,
        "confusion": {name: part["confusion"] for name, part in parts.items()},
        "oos_thresholds": {
            name: float(np.round(part["oos_threshold"], 4)) for name, part in parts.items()
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
