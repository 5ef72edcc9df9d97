"""Where the knowledge near-match route's threshold should sit.

    .venv/bin/python -m benchmarks.near_match_eval

When the intent model is unsure, the bot still answers a question whose sentence embedding is
within ``near_match_threshold`` (cosine) of an article's title. This measures that rule on the
demo shop's real articles (titled by Bitext questions, as ``demo_bots`` publishes them): every
other Bitext question without a template slot is a query, and the near match is right when the
title it found belongs to an article of the query's intent. Queries are split at random (seed 0)
into a tuning half, on which the threshold is chosen (the lowest with precision >= 0.97), and a
held-out half, reported at that threshold. Questions from other domains must not fire: CLINC150's
out-of-scope test queries and BANKING77's test set (a bank's questions put to a shop).

Writes ``benchmarks/results/near_match.json``.
"""

import csv
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.common import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
THRESHOLDS = [round(t, 2) for t in np.arange(0.70, 0.981, 0.02)]
PRECISION_WANTED = 0.97


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings.local")
    os.environ.setdefault("CS_VAR_DIR", tempfile.mkdtemp(prefix="near-match-"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def main() -> None:
    started = time.perf_counter()
    _django()
    from apps.dialogue.demo import _articles, _bitext_rows, demo_spec
    from ml.datasets import datasets_dir
    from ml.retrieval.encoder import DenseEncoder

    articles = _articles(demo_spec("retail"))
    titles = [title for title, _, _ in articles]
    title_intents = [intents[0] for _, _, intents in articles]
    used = set(titles)
    queries = [
        (row["instruction"], row["intent"])
        for row in _bitext_rows()
        if "{{" not in row["instruction"] and row["instruction"][:200] not in used
    ]
    random.Random(0).shuffle(queries)  # noqa: S311 (a reproducible split)
    queries = queries[:4000]
    tuning, held_out = queries[: len(queries) // 2], queries[len(queries) // 2 :]
    data = datasets_dir()
    clinc = json.loads((data / "clinc150" / "data_full.json").read_text())
    oos = [text for text, _ in clinc["oos_test"]]
    with (data / "banking77" / "test.csv").open(newline="", encoding="utf-8") as handle:
        bank = [row["text"] for row in csv.DictReader(handle)]

    encoder = DenseEncoder()
    title_vectors = np.asarray(encoder.encode(titles))

    def best(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        similarity = np.asarray(encoder.encode(texts)) @ title_vectors.T
        return similarity.max(axis=1), similarity.argmax(axis=1)

    def curve(split: list[tuple[str, str]]) -> dict[float, dict[str, float]]:
        score, index = best([text for text, _ in split])
        right = np.array(
            [title_intents[i] == intent for i, (_, intent) in zip(index, split, strict=True)]
        )
        rows = {}
        for threshold in THRESHOLDS:
            fired = score >= threshold
            rows[threshold] = {
                "coverage": round(float(fired.mean()), 4),
                "precision": round(float(right[fired].mean()), 4) if fired.any() else 1.0,
                "fired": int(fired.sum()),
            }
        return rows

    tuned = curve(tuning)
    chosen = min(
        (t for t in THRESHOLDS if tuned[t]["precision"] >= PRECISION_WANTED and tuned[t]["fired"]),
        default=THRESHOLDS[-1],
    )
    held = curve(held_out)
    oos_score, _ = best(oos)
    bank_score, _ = best(bank)
    foreign = {
        t: {
            "clinc150_oos_fired": round(float((oos_score >= t).mean()), 4),
            "banking77_fired": round(float((bank_score >= t).mean()), 4),
        }
        for t in THRESHOLDS
    }
    result = {
        "name": "near_match",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.near_match_eval",
        "machine": machine(),
        "data": (
            f"{len(titles)} demo-shop article titles; {len(tuning)} tuning and {len(held_out)} "
            f"held-out Bitext questions; {len(oos)} CLINC150 oos test; {len(bank)} BANKING77 test"
        ),
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": {
            "near_match_threshold": chosen,
            "near_match_heldout_precision": held[chosen]["precision"],
            "near_match_heldout_coverage": held[chosen]["coverage"],
            "near_match_heldout_precision_at_0_9": held[0.9]["precision"],
            "near_match_heldout_coverage_at_0_9": held[0.9]["coverage"],
            "near_match_clinc150_oos_fired": foreign[chosen]["clinc150_oos_fired"],
            "near_match_banking77_fired": foreign[chosen]["banking77_fired"],
        },
        "tuning": {str(t): v for t, v in tuned.items()},
        "held_out": {str(t): v for t, v in held.items()},
        "other_domains": {str(t): v for t, v in foreign.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "near_match.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["metrics"], indent=1))


if __name__ == "__main__":
    main()
