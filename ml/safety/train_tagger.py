"""Trains the PII tagger (``ml.safety.tagger``) on synthetic messages and ships it.

    .venv/bin/python -m ml.safety.train_tagger [--variants 4] [--epochs 5] [--out DIR]

Training data, all written for this project (``benchmarks/data/safety/``, see its SOURCE.md):
the English rows of ``pii_eval.jsonl`` and the ``tuning`` and ``fresh`` splits of
``pii_wide.jsonl`` (never ``heldout`` or ``outside``), each also refilled ``--variants`` times:
every name, address and phone number replaced by one of a Faker locale drawn at random, in the
case it was written in. The locales, countries and phone regions of the ``outside`` split are left
out of the draw (``EXCLUDED_LOCALES``, ``EXCLUDED_REGIONS``), so that split still measures names,
addresses and numbers the tagger never saw. Benign customer queries (BANKING77 train, CLINC150
train, even Bitext rows) in which the rule detector finds nothing are added as negatives. A tenth
of the rows (by a hash of their text) is kept for validation; the epoch with the best validation
F1 is shipped.
"""

import argparse
import csv
import hashlib
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
import torch
from faker import Faker
from torch import nn
from tqdm import tqdm

from ml.artifacts import manifest_write
from ml.datasets import datasets_dir
from ml.safety.tagger import (
    CONFIG,
    ENTITIES,
    MODEL_DIR,
    TAGS,
    WEIGHTS,
    PiiTagger,
    TaggerConfig,
    Token,
    decode,
    shape,
    tokenize,
)

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "safety"
SEED = 20261207
# The outside split's name locales and the locales of its address countries (Kenya, Nigeria,
# Ghana, Jamaica, Pakistan, Hong Kong, the UAE, the Philippines), and its phone regions.
EXCLUDED_LOCALES = {
    "ga_IE", "en_NG", "ig_NG", "ha_NG", "yo_NG", "sw", "az_AZ", "uz_UZ", "es_CL", "fr_BE",
    "uk_UA", "bg_BG", "el_GR", "ka_GE", "en_KE", "en_PK", "tw_GH", "en_PH", "fil_PH", "tl_PH",
}  # fmt: skip
EXCLUDED_REGIONS = {
    "JM", "TT", "BB", "BS", "GH", "UG", "TZ", "ZM", "RW", "PK", "LK", "BD", "NP", "MT", "CY",
    "FJ", "GR", "UA", "KE", "NG", "HK", "AE", "PH",
}  # fmt: skip
_LATIN = re.compile(r"^[A-Za-zÀ-ɏ' .,\-\n0-9/#()]+$")
_TITLE = re.compile(r"^(?:[A-Z][a-z]{0,9}\.?)\s")


def _locales(kind: str) -> list[str]:
    import pkgutil

    package = __import__(f"faker.providers.{kind}", fromlist=["_"])
    found = [m.name for m in pkgutil.iter_modules(package.__path__)]
    return sorted(name for name in found if "_" in name and name not in EXCLUDED_LOCALES)


class Values:
    """New values for a span, Latin script only, from the allowed locales."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.fakers: dict[str, Faker] = {}
        self.name_locales = _locales("person")
        self.address_locales = _locales("address")
        self.regions = sorted(
            r for r in phonenumbers.SUPPORTED_REGIONS if r not in EXCLUDED_REGIONS
        )

    def _fake(self, locale: str) -> Faker:
        if locale not in self.fakers:
            self.fakers[locale] = Faker(locale)
        fake = self.fakers[locale]
        fake.seed_instance(self.rng.randrange(2**32))
        return fake

    def _latin(self, make: Callable[[], str]) -> str | None:
        for _ in range(6):
            value = make().strip()
            if value and _LATIN.match(value):
                return value
        return None

    def person(self, original: str) -> str | None:
        fake = self._fake(self.rng.choice(self.name_locales))
        title = _TITLE.match(original)
        words = len(original.split()) - (1 if title else 0)
        if words <= 1:
            value = self._latin(lambda: self.rng.choice([fake.first_name, fake.last_name])())
        else:
            value = self._latin(lambda: f"{fake.first_name()} {fake.last_name()}")
        if value is None:
            return None
        value = (title.group() if title else "") + value
        return _same_case(original, value)

    def address(self, original: str) -> str | None:
        fake = self._fake(self.rng.choice(self.address_locales))
        value = self._latin(lambda: fake.address())
        if value is None:
            return None
        if "\n" not in original:
            value = ", ".join(line.strip() for line in value.splitlines() if line.strip())
        return _same_case(original, value)

    def phone(self, original: str) -> str | None:
        region = self.rng.choice(self.regions)
        kind = self.rng.choice(
            [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
        )
        number = phonenumbers.example_number_for_type(region, kind)
        if number is None:
            return None
        digits = list(str(number.national_number))
        # Vary the subscriber digits, keep the prefix: the number stays of its plan's shape.
        for i in range(max(2, len(digits) - 4), len(digits)):
            digits[i] = str(self.rng.randrange(10))
        number.national_number = int("".join(digits))
        style = self.rng.choice(
            [
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.E164,
            ]
        )
        value = phonenumbers.format_number(number, style)
        if self.rng.random() < 0.3:
            value = value.replace(" ", self.rng.choice(["-", ".", " "]))
        return value


def _same_case(original: str, value: str) -> str:
    letters = [c for c in original if c.isalpha()]
    if letters and all(c.islower() for c in letters):
        return value.lower()
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return value.upper()
    return value


Row = tuple[str, list[tuple[str, int, int]]]


def _labelled_rows() -> list[Row]:
    rows: list[Row] = []
    for line in (DATA / "pii_eval.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["lang"] == "en":
            rows.append(_kept(row))
    for line in (DATA / "pii_wide.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["split"] in {"tuning", "fresh"} and row["lang"] != "zh":
            rows.append(_kept(row))
    return rows


def _kept(row: dict[str, Any]) -> Row:
    spans = [
        (str(s["entity"]), int(s["start"]), int(s["end"]))
        for s in row["spans"]
        if s["entity"] in ENTITIES
    ]
    return str(row["text"]), sorted(spans, key=lambda s: s[1])


def _refill(row: Row, values: Values) -> Row | None:
    text, spans = row
    out, new_spans, cursor = [], [], 0
    for entity, start, end in spans:
        original = text[start:end]
        make = {"PERSON": values.person, "ADDRESS": values.address, "PHONE": values.phone}
        value = make[entity](original)
        if value is None:
            return None
        out.append(text[cursor:start])
        position = sum(len(p) for p in out)
        out.append(value)
        new_spans.append((entity, position, position + len(value)))
        cursor = end
    out.append(text[cursor:])
    return "".join(out), new_spans


def _benign(rng: random.Random, count: int) -> list[Row]:
    from ml.safety.pii import PiiDetector

    root = datasets_dir()
    texts: list[str] = []
    with (root / "banking77" / "train.csv").open(newline="", encoding="utf-8") as handle:
        texts += [row["text"] for row in csv.DictReader(handle)]
    clinc = json.loads((root / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    texts += [text for text, _intent in clinc["train"]]
    bitext = (
        root / "bitext-customer-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    )
    with bitext.open(newline="", encoding="utf-8") as handle:
        texts += [row["instruction"] for row in csv.DictReader(handle)][0::2]
    sample = rng.sample(texts, min(count, len(texts)))
    detector = PiiDetector(use_tagger=False)
    return [(t, []) for t in tqdm(sample, desc="benign negatives") if not detector.detect(t)]


def _tags(tokens: list[Token], spans: list[tuple[str, int, int]]) -> list[str]:
    tags = ["O"] * len(tokens)
    for entity, start, end in spans:
        inside = [i for i, t in enumerate(tokens) if t.start >= start and t.end <= end]
        for k, i in enumerate(inside):
            tags[i] = f"{'B' if k == 0 else 'I'}-{entity}"
    return tags


def _config(train: list[tuple[list[Token], list[str]]]) -> TaggerConfig:
    chars: Counter[str] = Counter()
    words: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    for tokens, tags in train:
        for token, tag in zip(tokens, tags, strict=True):
            chars.update(token.text)
            shapes[shape(token.text)] += 1
            # Context words only: a name or street learnt as a word would not generalise.
            if tag == "O":
                words[token.text.casefold()] += 1

    def index(counter: Counter[str], minimum: int, limit: int) -> dict[str, int]:
        kept = [k for k, n in counter.most_common(limit) if n >= minimum]
        return {k: i + 2 for i, k in enumerate(kept)}

    return TaggerConfig(
        chars=index(chars, 2, 400), words=index(words, 5, 4000), shapes=index(shapes, 3, 400)
    )


def _f1(model: PiiTagger, rows: list[tuple[list[Token], list[str]]]) -> float:
    model.eval()
    hit = predicted = gold = 0
    with torch.inference_mode():
        for i in range(0, len(rows), 64):
            batch = rows[i : i + 64]
            logits = model(*model.encode([tokens for tokens, _ in batch]))
            for (tokens, tags), row_logits in zip(batch, logits, strict=True):
                guess = [TAGS[k] for k in row_logits[: len(tokens)].argmax(dim=-1).tolist()]
                want = set(decode(tokens, tags))
                got = set(decode(tokens, guess))
                hit += len(want & got)
                predicted += len(got)
                gold += len(want)
    model.train()
    return 2 * hit / (predicted + gold) if predicted + gold else 1.0


def _held_out(text: str) -> bool:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % 10 == 0


def train(*, variants: int, epochs: int, out: Path, benign: int, threads: int) -> dict[str, Any]:
    torch.manual_seed(SEED)
    torch.set_num_threads(threads)
    rng = random.Random(SEED)
    values = Values(rng)
    labelled = _labelled_rows()
    rows: list[tuple[Row, bool]] = []
    for row in tqdm(labelled, desc="refilling"):
        held = _held_out(row[0])
        rows.append((row, held))
        for _ in range(variants):
            refilled = _refill(row, values)
            if refilled is not None:
                rows.append((refilled, held))
    rows += [(row, _held_out(row[0])) for row in _benign(rng, benign)]
    encoded = [
        ((tokens := tokenize(text)), _tags(tokens, spans), held) for (text, spans), held in rows
    ]
    train_rows = [(t, g) for t, g, held in encoded if not held and t]
    valid_rows = [(t, g) for t, g, held in encoded if held and t]
    config = _config(train_rows)
    model = PiiTagger(config)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_of = nn.CrossEntropyLoss(ignore_index=-1)
    best, best_state, history = -1.0, None, []
    started = time.monotonic()
    for epoch in range(epochs):
        rng.shuffle(train_rows)
        train_rows.sort(key=lambda r: len(r[0]) // 8)  # batches of similar length
        batches = [train_rows[i : i + 32] for i in range(0, len(train_rows), 32)]
        rng.shuffle(batches)
        for batch in tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}"):
            length = max(len(tokens) for tokens, _ in batch)
            target = torch.full((len(batch), length), -1, dtype=torch.long)
            for i, (_, tags) in enumerate(batch):
                target[i, : len(tags)] = torch.tensor([TAGS.index(t) for t in tags])
            logits = model(*model.encode([tokens for tokens, _ in batch]))
            loss = loss_of(logits.reshape(-1, len(TAGS)), target.reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        f1 = _f1(model, valid_rows)
        history.append(round(f1, 4))
        print(f"epoch {epoch + 1}: validation span F1 {f1:.4f}")
        if f1 > best:
            best, best_state = f1, {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    out.mkdir(parents=True, exist_ok=True)
    torch.save(best_state, out / WEIGHTS)
    config.save(out / CONFIG)
    summary: dict[str, Any] = {
        "validation_span_f1": round(best, 4),
        "history": history,
        "train_sentences": len(train_rows),
        "validation_sentences": len(valid_rows),
        "train_seconds": round(time.monotonic() - started, 1),
    }
    (out / "training.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    manifest_write(out)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--benign", type=int, default=5000, help="benign queries sampled")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    args = parser.parse_args()
    summary = train(
        variants=args.variants,
        epochs=args.epochs,
        out=args.out,
        benign=args.benign,
        threads=args.threads,
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
