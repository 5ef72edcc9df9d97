"""One tiny model, trained once for the module's tests: three BANKING77 intents from the
shipped copy, a few slot-tagged and sentiment-labelled lines. Seconds on 2 cores."""

import random
from pathlib import Path

import pytest

from ml.nlu.config import config_from_dict
from ml.nlu.contracts import Example, NluData, SlotSpan
from ml.nlu.data.banking77 import SHIPPED, read
from ml.nlu.train import TrainResult, train

INTENTS = ("card_arrival", "exchange_rate", "lost_or_stolen_phone")


def _slot_example(text: str, value: str, slot: str = "order_id") -> Example:
    start = text.index(value)
    return Example(
        text=text, slots=(SlotSpan(slot=slot, start=start, end=start + len(value), value=value),)
    )


SLOT_LINES = [
    ("where is order 48213", "48213"),
    ("track my order 99120 please", "99120"),
    ("order 55510 never arrived", "55510"),
    ("can you check order 70021", "70021"),
    ("my order 31877 is late", "31877"),
    ("status of order 12004?", "12004"),
    ("cancel order 66631 now", "66631"),
    ("I need order 28840 changed", "28840"),
]
SENTIMENT_LINES = [
    ("this is the worst service ever, I am furious", "negative"),
    ("you people are useless and I want my money back", "negative"),
    ("I'm so angry, nobody answers me", "negative"),
    ("terrible, absolutely terrible experience", "negative"),
    ("thanks, that helps a lot", "neutral"),
    ("could you tell me the opening hours", "neutral"),
    ("I would like some information please", "neutral"),
    ("ok, sounds good", "neutral"),
]


def tiny_data(intents: tuple[str, ...] = INTENTS, per_intent: int = 14) -> NluData:
    rows = [e for e in read(SHIPPED / "train.csv") if e.intent in intents]
    rng = random.Random(3)
    train_rows: list[Example] = []
    validation: list[Example] = []
    for intent in intents:
        group = [e for e in rows if e.intent == intent]
        rng.shuffle(group)
        train_rows += group[:per_intent]
        validation += group[per_intent : per_intent + 4]
    slots = [_slot_example(text, value) for text, value in SLOT_LINES]
    sentiments = [Example(text=t, sentiment=s) for t, s in SENTIMENT_LINES]
    test = [e for e in read(SHIPPED / "test.csv") if e.intent in intents]
    return NluData(
        train=tuple(train_rows + slots[:6] + sentiments[:6]),
        validation=tuple(validation + slots[6:] + sentiments[6:]),
        test=tuple(test),
    )


def tiny_config(name: str, tmp: Path, **training: object) -> object:
    return config_from_dict(
        {
            "name": name,
            "sources": [
                {"dataset": "jsonl", "path": "-", "tasks": ["intent", "slots", "sentiment"]}
            ],
            "training": {"epochs": 6, "batch_size": 16, "lr": 0.003, "patience": 6, **training},
            "output_dir": str(tmp),
        }
    )


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    tmp = tmp_path_factory.mktemp("nlu")
    config = tiny_config("tiny", tmp)
    return train(config, data=tiny_data(), out_dir=tmp / "tiny", progress=False)  # type: ignore[arg-type]
