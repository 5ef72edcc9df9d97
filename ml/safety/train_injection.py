"""Trains the injection classifier and writes it, with its SHA-256 manifest, to
``ml/safety/models/injection/``.

    python -m ml.safety.train_injection [--injections benchmarks/data/safety/injections.jsonl]

Positives: the ``train`` split of the assembled injection set (whole template families are
held out for the test split). Negatives: benign text that is NOT in the false-block benchmark
(BANKING77, CLINC150 and Bitext are kept for that): WOZ 2.0 and DSTC10 user turns, ABCD customer
turns, Chinese customer-service questions written for this purpose, and for documents the DSTC10
knowledge snippets and ABCD guidelines. Each source's threshold is set so that at most 0.05% of
held-out benign text of that source scores above it; the rules do most of the detecting, the
classifier only adds what it is very sure of.
"""

import argparse
import json
import random
from pathlib import Path

import numpy as np
from scipy.sparse import vstack
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from ml.artifacts import manifest_write
from ml.datasets import REPO, datasets_dir
from ml.safety.injection import MODEL_DIR, SOURCES, features

SEED = 13
TARGET_FALSE_POSITIVE_RATE = 0.0005


def _benign_customer(root: Path) -> list[str]:
    texts = []
    for name in ("woz_train_en.json", "woz_validate_en.json"):
        for dialogue in json.loads((root / "woz2" / name).read_text()):
            texts += [turn["transcript"] for turn in dialogue["dialogue"] if turn.get("transcript")]
    for dialogue in json.loads(
        (root / "dstc10-track2-knowledge" / "val" / "logs.json").read_text()
    ):
        texts += [turn["text"] for turn in dialogue if turn.get("speaker") == "U"]
    for conversation in json.loads((root / "abcd" / "abcd_sample.json").read_text()):
        texts += [
            text for speaker, text in conversation.get("original", []) if speaker == "customer"
        ]
    chinese = Path(__file__).resolve().parent / "data" / "benign_zh.txt"
    texts += [line.strip() for line in chinese.read_text().splitlines() if line.strip()]
    # Customer-service sentences about cards, refunds, orders and addresses, in English and
    # Chinese (the PII evaluation set): the vocabulary of the real traffic, none of it an attack.
    pii_eval = REPO / "benchmarks" / "data" / "safety" / "pii_eval.jsonl"
    texts += [json.loads(line)["text"] for line in pii_eval.read_text().splitlines() if line]
    return texts


def _benign_documents(root: Path) -> list[str]:
    texts = []
    knowledge = json.loads((root / "dstc10-track2-knowledge" / "knowledge.json").read_text())
    for domain in knowledge.values():
        for entity in domain.values():
            texts += [f"{doc['title']}\n{doc['body']}" for doc in entity["docs"].values()]
    guidelines = json.loads((root / "abcd" / "kb.json").read_text())

    def walk(node: object) -> None:
        if isinstance(node, str) and len(node.split()) > 5:
            texts.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(guidelines)
    return texts


def _split(texts: list[str], held_out: float, rng: random.Random) -> tuple[list[str], list[str]]:
    shuffled = sorted(set(texts))
    rng.shuffle(shuffled)
    cut = int(len(shuffled) * (1 - held_out))
    return shuffled[:cut], shuffled[cut:]


def _threshold(scores: np.ndarray) -> float:
    """The lowest threshold that keeps held-out benign false positives at the target rate."""
    ordered = np.sort(scores)[::-1]
    allowed = int(len(ordered) * TARGET_FALSE_POSITIVE_RATE)
    # Never below 0.9: outside its training domain the classifier is less sure than it thinks.
    return float(max(ordered[allowed] + 1e-6, 0.9))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--injections",
        type=Path,
        default=REPO / "benchmarks" / "data" / "safety" / "injections.jsonl",
    )
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    args = parser.parse_args()
    rng = random.Random(SEED)
    root = datasets_dir()

    injections = [json.loads(line) for line in args.injections.read_text().splitlines() if line]
    positives = [row["text"] for row in injections if row["split"] == "train"]
    customer_train, customer_held = _split(_benign_customer(root), 0.3, rng)
    document_train, document_held = _split(_benign_documents(root), 0.3, rng)
    texts = positives + customer_train + document_train
    labels = np.array([1] * len(positives) + [0] * (len(customer_train) + len(document_train)))
    print(
        f"training on {len(positives)} injections, {len(customer_train)} customer and "
        f"{len(document_train)} document negatives"
    )
    batches = [texts[i : i + 500] for i in range(0, len(texts), 500)]
    matrix = vstack([features(batch) for batch in tqdm(batches, desc="features", unit="batch")])
    model = LogisticRegression(C=2.0, max_iter=2000, random_state=SEED)
    model.fit(matrix, labels)

    coef = model.coef_.ravel().astype(np.float32)
    intercept = float(model.intercept_[0])

    def score(batch: list[str]) -> np.ndarray:
        logits = features(batch) @ coef + intercept
        return np.asarray(1 / (1 + np.exp(-logits))).ravel()

    thresholds = {
        "customer": _threshold(score(customer_held)),
        "document": _threshold(score(document_held)),
    }
    assert set(thresholds) == set(SOURCES)
    train_recall = float((score(positives) >= thresholds["customer"]).mean())
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "weights.npz", coef=coef, intercept=np.float32(intercept))
    meta = {
        "thresholds": thresholds,
        "target_false_positive_rate": TARGET_FALSE_POSITIVE_RATE,
        "features": "hashed char_wb 2-5 + word 1-2 n-grams of the normalised text, 2x2^18",
        "trained_on": {
            "injections": len(positives),
            "customer_negatives": len(customer_train),
            "document_negatives": len(document_train),
        },
        "train_recall_at_customer_threshold": round(train_recall, 4),
        "seed": SEED,
    }
    (args.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    manifest_write(args.out)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
