"""What ROUGE-L a perfect copier would get on the generation eval (no model involved): the
held-out 10 % of Bitext scored against

- the answering passage exactly as the eval shows it (the same draw as generation_eval, cut to
  the adapter's passage_words) and uncut;
- each intent's most typical training response (of 25 sampled, the one with the highest mean
  ROUGE-L to 25 others of the intent).

    python -m benchmarks.generation_ceiling

Writes benchmarks/results/generation_ceiling.json.
"""

import json
import random
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean

from benchmarks.common import machine
from ml.generation.config import sft_config_load
from ml.generation.data.bitext import load_rows, split
from ml.generation.data.sft import PassagePool, answer_example
from ml.generation.metrics import rouge_l

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLE = 25


def main() -> None:
    config = sft_config_load(Path("ml/configs/generation_shop.yaml"))
    train, test = split(load_rows())
    metrics = {}
    for name, words in (("shown", config.mixture.passage_words), ("uncut", 10_000)):
        pool = PassagePool(train, words)
        rng = random.Random(2024)  # noqa: S311 (generation_eval's draw)
        scores = []
        for row in test:
            example = answer_example(row, pool, config.mixture, rng, refuse=False)
            gold = next(p for p in example.passages if p.pid == example.meta["gold"])
            scores.append(rouge_l(gold.text, row.response))
        metrics[f"bitext_gold_passage_{name}_rouge_l"] = round(fmean(scores), 4)
    by_intent = defaultdict(list)
    for row in train:
        by_intent[row.intent].append(row.response)
    rng = random.Random(0)  # noqa: S311
    typical = {}
    for intent, responses in by_intent.items():
        candidates, others = rng.sample(responses, SAMPLE), rng.sample(responses, SAMPLE)
        typical[intent] = max(
            candidates, key=lambda c: fmean(rouge_l(c, o) for o in others if o != c)
        )
    metrics["bitext_typical_response_rouge_l"] = round(
        fmean(rouge_l(typical[r.intent], r.response) for r in test), 4
    )
    result = {
        "name": "generation_ceiling",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.generation_ceiling",
        "machine": machine(),
        "setup": f"held-out Bitext questions: {len(test)}; no model",
        "metrics": metrics,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generation_ceiling.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
