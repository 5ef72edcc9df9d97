"""Bitext customer support (CDLA-Sharing-1.0): 27 intents, entity spans as slots, and a weak
sentiment label (negative for complaints and offensive wording, tag ``W``).

There is no official split: a fixed stratified 80/10/10 split by intent."""

import csv
import random
from pathlib import Path

from ml.datasets import datasets_dir
from ml.nlu.config import SourceConfig
from ml.nlu.contracts import Example, NluData, SlotSpan

FILE = "Bitext_Sample_Customer_Support_Training_Dataset.csv"
NEGATIVE_INTENTS = frozenset({"complaint"})


def example_from_row(row: dict[str, str]) -> Example:
    text = row["instruction"]
    slots: tuple[SlotSpan, ...] = ()
    if row["entity_type"] and row["start_offset"]:
        start, end = int(row["start_offset"]), int(row["end_offset"])
        if 0 <= start < end <= len(text):
            slots = (
                SlotSpan(slot=row["entity_type"], start=start, end=end, value=text[start:end]),
            )
    negative = row["intent"] in NEGATIVE_INTENTS or "W" in row["tags"]
    return Example(
        text=text,
        intent=row["intent"],
        slots=slots,
        sentiment="negative" if negative else "neutral",
    )


def load(source: SourceConfig, rng: random.Random, validation_fraction: float) -> NluData:
    from ml.nlu.data import stratified_holdout

    folder = Path(source.path) if source.path else datasets_dir() / "bitext-customer-support"
    with (folder / FILE).open(newline="", encoding="utf-8") as handle:
        rows = [example_from_row(row) for row in csv.DictReader(handle)]
    split_rng = random.Random(20240917)  # the split is fixed whatever the training seed
    rest, test = stratified_holdout(rows, 0.1, split_rng)
    train, validation = stratified_holdout(rest, 1 / 9, split_rng)
    return NluData(train=train, validation=validation, test=test)
