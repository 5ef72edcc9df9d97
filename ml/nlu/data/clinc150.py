"""CLINC150 (CC BY 3.0): 150 intents plus out-of-scope queries, from the shared datasets."""

import json
import random
from pathlib import Path

from ml.datasets import datasets_dir
from ml.nlu.config import SourceConfig
from ml.nlu.contracts import Example, NluData


def _examples(pairs: list[list[str]]) -> list[Example]:
    return [
        Example(text=text, is_oos=True) if intent == "oos" else Example(text=text, intent=intent)
        for text, intent in pairs
    ]


def load(source: SourceConfig, rng: random.Random, validation_fraction: float) -> NluData:
    variant = str(source.options.get("variant", "data_full"))
    folder = Path(source.path) if source.path else datasets_dir() / "clinc150"
    raw = json.loads((folder / f"{variant}.json").read_text())
    # oos_train is not a class: it teaches by outlier exposure when the config asks for it
    # (training.outlier_exposure), and is left out otherwise.
    return NluData(
        train=tuple(_examples(raw["train"] + raw["oos_train"])),
        validation=tuple(_examples(raw["val"] + raw["oos_val"])),
        test=tuple(_examples(raw["test"] + raw["oos_test"])),
    )


GENERIC_OOS = Path(__file__).resolve().parent / "generic_oos" / "queries.txt"


def generic_oos_queries() -> list[str]:
    """CLINC150's 200 training and validation out-of-scope queries, shipped in the repo: the
    negatives a workspace without out-of-scope examples fits its threshold against."""
    return [line for line in GENERIC_OOS.read_text(encoding="utf-8").splitlines() if line.strip()]
