"""Training data for the NLU model: one module per dataset, each returning ``NluData``.

A mixture of sources trains one model: each source teaches only the tasks its config names
(a label for any other task is dropped, so that task's loss ignores the example).
"""

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

from ml.nlu.config import SourceConfig
from ml.nlu.contracts import Example, NluData
from ml.nlu.data import banking77, bitext, clinc150, jsonl, woz2

LOADERS: dict[str, Callable[[SourceConfig, random.Random, float], NluData]] = {
    "banking77": banking77.load,
    "clinc150": clinc150.load,
    "woz2": woz2.load,
    "bitext": bitext.load,
    "jsonl": jsonl.load,
}


def stratified_holdout(
    examples: Sequence[Example], fraction: float, rng: random.Random
) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """Split off ``fraction`` of each intent (at least one when an intent has two or more)."""
    by_intent: dict[str | None, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    keep: list[Example] = []
    held: list[Example] = []
    for intent in sorted(by_intent, key=lambda name: name or ""):
        group = by_intent[intent][:]
        rng.shuffle(group)
        count = round(len(group) * fraction)
        if len(group) >= 2:
            count = max(1, count)
        held.extend(group[:count])
        keep.extend(group[count:])
    return tuple(keep), tuple(held)


def take_shots(examples: Sequence[Example], shots: int, rng: random.Random) -> tuple[Example, ...]:
    by_intent: dict[str | None, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    chosen: list[Example] = []
    for intent in sorted(by_intent, key=lambda name: name or ""):
        group = by_intent[intent][:]
        rng.shuffle(group)
        chosen.extend(group[:shots])
    return tuple(chosen)


def _only_tasks(example: Example, tasks: Sequence[str]) -> Example:
    return replace(
        example,
        intent=example.intent if "intent" in tasks else None,
        slots=example.slots if "slots" in tasks else None,
        sentiment=example.sentiment if "sentiment" in tasks else None,
        # Out of scope is an answer of the intent task: a source that doesn't teach intents
        # doesn't teach it either.
        is_oos=example.is_oos and "intent" in tasks,
        oos_kind=example.oos_kind if "intent" in tasks else None,
    )


def load_source(source: SourceConfig, seed: int, validation_fraction: float) -> NluData:
    if source.dataset not in LOADERS:
        raise ValueError(f"unknown dataset {source.dataset!r}; known: {sorted(LOADERS)}")
    rng = random.Random(seed)
    data = LOADERS[source.dataset](source, rng, validation_fraction)
    train = data.train
    if source.shots:
        train = take_shots(train, source.shots, rng)
    if source.limit and len(train) > source.limit:
        train = tuple(rng.sample(list(train), source.limit))

    def keep(examples: Sequence[Example]) -> tuple[Example, ...]:
        return tuple(_only_tasks(e, source.tasks) for e in examples)

    return NluData(train=keep(train), validation=keep(data.validation), test=keep(data.test))


def load_mixture(sources: Sequence[SourceConfig], seed: int, validation_fraction: float) -> NluData:
    parts = [load_source(source, seed, validation_fraction) for source in sources]
    return NluData(
        train=tuple(e for p in parts for e in p.train),
        validation=tuple(e for p in parts for e in p.validation),
        test=tuple(e for p in parts for e in p.test),
    )
