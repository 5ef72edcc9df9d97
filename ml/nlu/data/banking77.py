"""BANKING77 (CC BY 4.0): 77 banking intents. Shipped in ``ml/nlu/data/banking77/``; there is
no validation split, so one is held out of train, stratified by intent."""

import csv
import random
from pathlib import Path

from ml.nlu.config import SourceConfig
from ml.nlu.contracts import Example, NluData

SHIPPED = Path(__file__).resolve().parent / "banking77"


def read(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [Example(text=row["text"], intent=row["category"]) for row in csv.DictReader(handle)]


def load(source: SourceConfig, rng: random.Random, validation_fraction: float) -> NluData:
    from ml.nlu.data import stratified_holdout

    folder = Path(source.path) if source.path else SHIPPED
    train, validation = stratified_holdout(read(folder / "train.csv"), validation_fraction, rng)
    return NluData(train=train, validation=validation, test=tuple(read(folder / "test.csv")))
