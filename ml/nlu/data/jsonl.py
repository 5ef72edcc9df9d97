"""A workspace's own examples, exported as JSON lines by the app, or any data set written the
same way (the format is documented in ``ml/nlu/README.md``)::

    {"text", "intent"?, "is_oos"?, "oos_kind"?, "slots"?: [{"slot", "start", "end"}],
     "sentiment"?, "split"?}

Rows without a split are divided into train and validation, stratified by intent."""

import json
import random
from pathlib import Path
from typing import Any

from ml.nlu.config import SourceConfig
from ml.nlu.contracts import SENTIMENTS, Example, NluData, SlotSpan


def example_from_json(row: dict[str, Any], where: str) -> Example:
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: every row needs a non-empty text")
    slots = None
    if row.get("slots") is not None:
        spans = []
        for span in row["slots"]:
            start, end = int(span["start"]), int(span["end"])
            if not 0 <= start < end <= len(text):
                raise ValueError(f"{where}: slot span {start}:{end} is outside the text")
            spans.append(
                SlotSpan(slot=str(span["slot"]), start=start, end=end, value=text[start:end])
            )
        slots = tuple(spans)
    sentiment = row.get("sentiment")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise ValueError(f"{where}: sentiment must be one of {SENTIMENTS}")
    is_oos = bool(row.get("is_oos", False))
    intent = row.get("intent") or None
    if is_oos and intent:
        raise ValueError(f"{where}: an out-of-scope row (is_oos) carries no intent")
    oos_kind = row.get("oos_kind") or None
    if oos_kind is not None and not is_oos:
        raise ValueError(f"{where}: oos_kind is for out-of-scope rows (is_oos: true)")
    return Example(
        text=text,
        intent=intent,
        slots=slots,
        sentiment=sentiment,
        is_oos=is_oos,
        oos_kind=None if oos_kind is None else str(oos_kind),
    )


def load(source: SourceConfig, rng: random.Random, validation_fraction: float) -> NluData:
    from ml.nlu.data import stratified_holdout

    if not source.path:
        raise ValueError("a jsonl source needs a path")
    splits: dict[str, list[Example]] = {"train": [], "validation": [], "test": [], "": []}
    with Path(source.path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                row = json.loads(line)
                split = str(row.get("split") or "")
                if split not in splits:
                    raise ValueError(f"{source.path}:{number}: unknown split {split!r}")
                splits[split].append(example_from_json(row, f"{source.path}:{number}"))
    train, held = stratified_holdout(splits[""], validation_fraction, rng)
    return NluData(
        train=tuple(splits["train"]) + train,
        validation=tuple(splits["validation"]) + held,
        test=tuple(splits["test"]),
    )
