"""Dialogue state tracking on WOZ 2.0 test: joint goal accuracy.

    .venv/bin/python -m benchmarks.dst_eval [--model var/models/nlu-benchmark/banking77]

Every user turn of the 400 test dialogues goes through the NLU model (slot tagging) and
``ml.dialogue.state.state_update`` with the slots the system had just asked about
(``system_acts``); the tracked food / area / price range must equal the gold belief state
(``inform`` slots, ``dontcare`` included) at every turn for the turn to count. The slot
vocabulary (ontology values and the ways people say them) plays the part of a workspace's
entity dictionary. Writes ``benchmarks/results/dst.json``.
"""

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.common import machine
from ml.datasets import datasets_dir
from ml.dialogue.state import DialogueState, SlotVocabulary, state_update
from ml.nlu.data import woz2
from ml.nlu.runtime import NluRuntime

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MENTIONS = {
    "food": ("food", "type of food", "kind of food", "food type", "cuisine", "type"),
    "area": (
        "area",
        "part of town",
        "part of the town",
        "location",
        "side of town",
        "side",
        "part",
    ),
    "price_range": ("price", "price range", "pricerange", "cost", "budget", "prices", "range"),
}
# Phrases that leave a slot open (the workspace dictionary's "any value" entries).
DONTCARE = {
    "food": (
        "surprise me",
        "any kind",
        "any type",
        "any cuisine",
        "any food",
        "whatever food",
        "anything is fine",
        "anything will do",
        "anything really",
        "anything's fine",
    ),
    "area": ("anywhere", "any where", "any part", "doesn't matter where", "wherever"),
    "price_range": ("price no object", "price is no object", "any price", "money is no object"),
}


def vocabularies(folder: Path) -> dict[str, SlotVocabulary]:
    ontology = woz2.ontology(folder)
    return {
        woz2.SLOT_NAMES[slot]: SlotVocabulary(
            values={value: woz2.SURFACE_FORMS.get(value, ()) for value in values},
            mentions=MENTIONS[woz2.SLOT_NAMES[slot]],
            dontcare=DONTCARE[woz2.SLOT_NAMES[slot]],
        )
        for slot, values in ontology.items()
    }


def gold_state(turn: dict[str, Any], finder: woz2.ValueFinder) -> dict[str, str]:
    state = {}
    for act in turn["belief_state"]:
        if act["act"] != "inform":
            continue
        for slot, value in act["slots"]:
            if slot in woz2.SLOT_NAMES:
                name = woz2.SLOT_NAMES[slot]
                state[name] = value if value == "dontcare" else finder.normalize(slot, value)
    return state


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "var/models/nlu-benchmark/banking77")
    parser.add_argument(
        "--split",
        choices=("validation", "test"),
        default="test",
        help="tune on validation; report test",
    )
    parser.add_argument(
        "--offered",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the values the system proposed (system_acts) count as offered to the customer",
    )
    parser.add_argument("--output", default="dst")
    args = parser.parse_args()
    folder = datasets_dir() / "woz2"
    finder = woz2.finder_for(folder)
    slot_vocabularies = vocabularies(folder)
    model = NluRuntime().load("woz", args.model)
    dialogues = json.loads((folder / woz2.FILES[args.split]).read_text())
    turns_total = joint_right = 0
    slot_right: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    examples = []
    started = time.perf_counter()
    for dialogue in tqdm(dialogues, desc="WOZ 2.0 test dialogues"):
        turns = dialogue["dialogue"]
        results = model.predict([t["transcript"] for t in turns], top_k=1)
        state = DialogueState()
        diverged = False
        for turn, nlu in zip(turns, results, strict=True):
            asked = [
                woz2.SLOT_NAMES[a]
                for a in turn["system_acts"]
                if isinstance(a, str) and a in woz2.SLOT_NAMES
            ]
            offered = {
                woz2.SLOT_NAMES[a[0]]: finder.normalize(a[0], a[1])
                for a in turn["system_acts"]
                if isinstance(a, list) and len(a) == 2 and a[0] in woz2.SLOT_NAMES
            }
            state = state_update(
                state,
                nlu,
                vocabularies=slot_vocabularies,
                asked=asked,
                offered=offered if args.offered else None,
            )
            predicted = state.values()
            gold = gold_state(turn, finder)
            turns_total += 1
            if predicted == gold:
                joint_right += 1
                diverged = False
            else:
                for slot in set(gold) | set(predicted):
                    if gold.get(slot) != predicted.get(slot):
                        kind = (
                            "missed"
                            if slot not in predicted
                            else "extra"
                            if slot not in gold
                            else "wrong"
                        )
                        errors[f"{slot}:{kind}"] += 1
                # Where the state goes wrong (the turns after mostly inherit the error).
                if not diverged and len(examples) < 60:
                    examples.append(
                        {
                            "system": turn["system_transcript"],
                            "text": turn["transcript"],
                            "gold": gold,
                            "predicted": predicted,
                        }
                    )
                diverged = True
            for slot in MENTIONS:
                slot_right[slot] += gold.get(slot) == predicted.get(slot)
    seconds = time.perf_counter() - started
    metrics = {
        "woz2_joint_goal_accuracy": round(joint_right / turns_total, 4),
        "split": args.split,
        **{f"woz2_{slot}_accuracy": round(slot_right[slot] / turns_total, 4) for slot in MENTIONS},
        "woz2_test_turns": turns_total,
        "woz2_seconds": round(seconds, 1),
    }
    result = {
        "name": "dst",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.dst_eval", *sys.argv[1:]]),
        "machine": machine(),
        "model": str(args.model),
        "metrics": metrics,
        "errors": dict(errors.most_common()),
        "examples": examples,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({"metrics": metrics, "errors": dict(errors.most_common(12))}, indent=1))


if __name__ == "__main__":
    main()
