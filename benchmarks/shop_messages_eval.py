"""The demo shop's routing of everyday messages nobody trained or tuned on.

    .venv/bin/python -m benchmarks.shop_messages_eval [--reuse]

Builds the demo bots as ``benchmarks.conversations_eval`` does (``--reuse`` keeps that build),
loads the shop workspace's active NLU model from it, and routes every message of
``benchmarks/data/messages/shop_natural.json`` (four per intent, written before the changes they
measure) with the shop's demo settings, one turn each from a fresh state. A message is right when
it takes its intent's route and, for a knowledge or flow route, the model's top intent is its
intent. Reported: that share, the intent accuracy before the out-of-scope check, how many were
flagged out of scope, and every miss with its intent, score and route. Writes
``benchmarks/results/<--output>.json``.
"""

import argparse
import json
import sqlite3
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import machine
from benchmarks.conversations_eval import VAR, build
from benchmarks.routing_eval import expected_route, routing_config
from ml.dialogue.policy import route_decide
from ml.dialogue.state import DialogueState, state_update
from ml.nlu.runtime import NluRuntime

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MESSAGES = ROOT / "benchmarks" / "data" / "messages" / "shop_natural.json"


def active_model(slug: str) -> Path:
    """The artifact folder of the workspace's active model in the benchmark build."""
    with sqlite3.connect(VAR / "db.sqlite3") as db:
        row = db.execute(
            "SELECT r.artifact_path FROM nlu_trainingrun r JOIN accounts_workspace w"
            " ON w.id = r.workspace_id WHERE w.slug = ? AND r.is_active",
            (slug,),
        ).fetchone()
    if row is None:
        raise SystemExit(f"workspace {slug!r} has no active model in {VAR}")
    return Path(row[0])


def evaluate(directory: Path) -> dict[str, Any]:
    spec = json.loads(MESSAGES.read_text())
    config = routing_config("retail")
    cases = [(text, intent) for intent, texts in spec["messages"].items() for text in texts]
    model = NluRuntime().load("shop", directory)
    results = model.predict([text for text, _ in cases], top_k=3)
    right = intent_right = flagged = 0
    routes: Counter[str] = Counter()
    misses = []
    for (text, intent), nlu in zip(cases, results, strict=True):
        state = state_update(DialogueState(), nlu, low_confidence=config.min_confidence)
        route = route_decide(state, nlu, config).name
        gold = expected_route(intent, config)
        top = nlu.intents[0].intent if nlu.intents else ""
        routes[f"{gold}->{route}"] += 1
        intent_right += top == intent
        flagged += nlu.is_oos
        ok = route == gold and (route == "handoff" or top == intent)
        right += ok
        if not ok:
            misses.append(
                {
                    "text": text,
                    "intent": intent,
                    "top": top,
                    "confidence": round(nlu.confidence, 3),
                    "oos_score": round(nlu.oos_score, 3),
                    "route": route,
                }
            )
    return {
        "metrics": {
            "messages": len(cases),
            "routed_right": round(right / len(cases), 4),
            "intent_accuracy": round(intent_right / len(cases), 4),
            "flagged_out_of_scope": round(flagged / len(cases), 4),
        },
        "routes": dict(sorted(routes.items())),
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reuse", action="store_true", help="keep an earlier benchmark build")
    parser.add_argument("--output", default="shop-messages")
    args = parser.parse_args()
    build(args.reuse)
    directory = active_model("demo")
    part = evaluate(directory)
    result = {
        "name": "shop-messages",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.shop_messages_eval", *sys.argv[1:]]),
        "machine": machine(),
        "model": directory.name,
        **part,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
