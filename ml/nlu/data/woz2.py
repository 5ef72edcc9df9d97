"""WOZ 2.0 (Apache-2.0): restaurant-search user turns. The per-turn labels (``turn_label``) give
slot values, not spans, so each value is found in the utterance through its surface forms (the
ontology value and the paraphrases below) to make BIO tags. ``dontcare`` has no span."""

import json
import random
import re
from pathlib import Path

from ml.datasets import datasets_dir
from ml.nlu.config import SourceConfig
from ml.nlu.contracts import Example, NluData, SlotSpan

SLOTS = ("food", "area", "price range")
SLOT_NAMES = {"food": "food", "area": "area", "price range": "price_range"}
FILES = {
    "train": "woz_train_en.json",
    "validation": "woz_validate_en.json",
    "test": "woz_test_en.json",
}

# Paraphrases seen in the user turns, by canonical value.
SURFACE_FORMS: dict[str, tuple[str, ...]] = {
    "centre": ("center", "central", "centrally", "city centre", "city center", "downtown"),
    "moderate": (
        "moderately",
        "moderately priced",
        "mid-priced",
        "mid priced",
        "midrange",
        "mid-range",
        "mid range",
        "reasonably priced",
        "average priced",
        "medium priced",
        "fair price",
        "fair prices",
        "fairly priced",
        "reasonable price",
        "reasonable prices",
        "reasonable priced",
        "reasonably",
        "not too expensive",
        "not too cheap",
        "not too pricey",
        "mid price",
        "mid-price",
        "middle priced",
    ),
    "expensive": (
        "pricey",
        "upscale",
        "high end",
        "high-end",
        "expensively",
        "fancy",
        "costly",
        "high priced",
        "high-priced",
    ),
    "cheap": (
        "inexpensive",
        "cheaply",
        "low priced",
        "low-priced",
        "cheapest",
        "budget",
        "affordable",
        "low cost",
        "low price",
        "low prices",
        "not expensive",
        "cheaper",
        "costing a fortune",
        "break the bank",
    ),
    "asian oriental": ("asian", "oriental"),
    "modern european": ("modern european",),
    "north american": ("american",),
    "gastropub": ("gastro pub", "gastropubs"),
    "italian": ("italien",),
    "portuguese": ("portugese",),
    "mediterranean": ("mediteranean",),
    "vietnamese": ("vietnam",),
    "chinese": ("china",),
    "indian": ("india",),
    "thai": ("thailand",),
    "barbeque": ("bbq", "barbecue"),
    "japanese": ("sushi", "japan"),
    "hungarian": ("goulash", "hungary"),
    "afghan": ("afghanistan",),
    "steakhouse": ("steak house", "steaks", "steak"),
    "seafood": ("sea food",),
}


def ontology(folder: Path) -> dict[str, list[str]]:
    raw = json.loads((folder / "ontology_dstc2_en.json").read_text())
    return {slot: list(raw["informable"][slot]) for slot in SLOTS}


def _pattern(form: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(form) + r"(?![\w-])", re.IGNORECASE)


class ValueFinder:
    """Finds an ontology value's span in an utterance, and maps a span back to a value."""

    def __init__(self, values: dict[str, list[str]]):
        self.forms: dict[tuple[str, str], list[re.Pattern[str]]] = {}
        self.canonical: dict[tuple[str, str], str] = {}
        for slot, slot_values in values.items():
            for value in slot_values:
                forms = sorted({value, *SURFACE_FORMS.get(value, ())}, key=len, reverse=True)
                self.forms[(slot, value)] = [_pattern(f) for f in forms]
                for form in forms:
                    self.canonical.setdefault((slot, form.lower()), value)

    def find(self, text: str, slot: str, value: str) -> tuple[int, int] | None:
        for pattern in self.forms.get((slot, value), []):
            match = pattern.search(text)
            if match:
                return match.start(), match.end()
        return None

    def normalize(self, slot: str, surface: str) -> str:
        """The ontology value a tagged span means (the span itself when it is unknown)."""
        text = surface.lower().strip(" .,!?")
        return self.canonical.get((slot, text), text)


def gold_values(turn: dict[str, object]) -> set[tuple[str, str]]:
    labels = turn["turn_label"]
    assert isinstance(labels, list)
    return {(SLOT_NAMES[s], v) for s, v in labels if s in SLOTS and v != "dontcare"}


def read_turns(folder: Path, split: str) -> list[dict[str, object]]:
    dialogues = json.loads((folder / FILES[split]).read_text())
    return [turn for dialogue in dialogues for turn in dialogue["dialogue"]]


def example_from_turn(turn: dict[str, object], finder: ValueFinder) -> Example:
    text = str(turn["transcript"])
    spans = []
    labels = turn["turn_label"]
    assert isinstance(labels, list)
    for slot, value in labels:
        if slot not in SLOTS or value == "dontcare":
            continue
        found = finder.find(text, slot, value)
        if found:
            spans.append(SlotSpan(slot=SLOT_NAMES[slot], start=found[0], end=found[1], value=value))
    spans.sort(key=lambda s: s.start)
    # Overlapping finds ("asian oriental" vs "oriental") keep the first, longest one.
    kept: list[SlotSpan] = []
    for span in spans:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return Example(text=text, slots=tuple(kept))


def finder_for(folder: Path | None = None) -> ValueFinder:
    return ValueFinder(ontology(folder or datasets_dir() / "woz2"))


def load(source: SourceConfig, rng: random.Random, validation_fraction: float) -> NluData:
    folder = Path(source.path) if source.path else datasets_dir() / "woz2"
    finder = finder_for(folder)
    splits = {
        split: tuple(example_from_turn(t, finder) for t in read_turns(folder, split))
        for split in FILES
    }
    return NluData(train=splits["train"], validation=splits["validation"], test=splits["test"])
