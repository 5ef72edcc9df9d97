"""The shipped Bitext customer-support corpus (CDLA-Sharing-1.0, see ``bitext/SOURCE.md``).

Every question is redacted before it leaves this module: the order, invoice and person spans the
corpus marks become placeholders, and the regex PII detector (cards, IBANs, e-mails, phones,
Chinese IDs...) replaces anything else it finds. The responses are already anonymised by Bitext
(``{{Order Number}}``-style placeholders).

There is no official split: a fixed stratified 90/10 split by intent (the 10 % is held out from
the base model's pretraining and from every adapter)."""

import csv
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ml.safety.pii import PiiDetector
from ml.safety.redact import redact

FOLDER = Path(__file__).resolve().parent / "bitext"
FILE = "Bitext_Sample_Customer_Support_Training_Dataset.csv"
SPLIT_SEED = 20240917
TEST_FRACTION = 0.1
# Corpus entity types that are personal or account data, and the placeholder each becomes.
SPAN_PLACEHOLDERS = {"order_id": "ORDER_ID", "invoice_id": "INVOICE_ID", "person_name": "PERSON"}
# A fixed key: the placeholders only need to be consistent within one text.
_REDACTION_SECRET = b"generation-training-data"


@dataclass(frozen=True)
class BitextRow:
    row_id: str  # "bitext:<line>"
    intent: str
    category: str
    question: str  # redacted
    response: str
    entity_type: str = ""
    entity_text: str = ""  # the span as it stands in the redacted question ("" when none)


@cache
def _detector() -> PiiDetector:
    return PiiDetector(use_ner=False)


def redact_text(text: str) -> str:
    spans = _detector().detect(text)
    return redact(text, spans, secret=_REDACTION_SECRET).text if spans else text


def row_from_csv(line: int, row: dict[str, str]) -> BitextRow:
    text = row["instruction"]
    entity_type, entity_text = row["entity_type"], ""
    if entity_type and row["start_offset"]:
        start, end = int(row["start_offset"]), int(row["end_offset"])
        if 0 <= start < end <= len(text):
            placeholder = SPAN_PLACEHOLDERS.get(entity_type)
            entity_text = f"<{placeholder}_1>" if placeholder else text[start:end]
            text = text[:start] + entity_text + text[end:]
    question = redact_text(" ".join(text.split()))
    if entity_text and entity_text not in question:
        entity_text = ""  # the detector rewrote the span: keep no stale copy
    return BitextRow(
        row_id=f"bitext:{line}",
        intent=row["intent"],
        category=row["category"],
        question=question,
        response=row["response"].strip(),
        entity_type=entity_type if entity_text else "",
        entity_text=entity_text,
    )


@cache
def _read(path: Path) -> tuple[BitextRow, ...]:
    if not path.is_file():
        raise FileNotFoundError(f"the Bitext corpus is missing: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        return tuple(row_from_csv(i, r) for i, r in enumerate(csv.DictReader(handle), start=2))


def load_rows(path: Path | None = None, limit: int | None = None) -> list[BitextRow]:
    """Every row, redacted (read and redacted once per process)."""
    rows = list(_read((path or FOLDER / FILE).resolve()))
    return rows[:limit] if limit is not None else rows


def split(rows: Sequence[BitextRow]) -> tuple[list[BitextRow], list[BitextRow]]:
    """(train, test): a fixed 10 % of each intent held out, whatever the training seed."""
    by_intent: dict[str, list[BitextRow]] = defaultdict(list)
    for row in rows:
        by_intent[row.intent].append(row)
    rng = random.Random(SPLIT_SEED)
    train: list[BitextRow] = []
    test: list[BitextRow] = []
    for intent in sorted(by_intent):
        group = sorted(by_intent[intent], key=lambda r: r.row_id)
        rng.shuffle(group)
        count = max(1, round(len(group) * TEST_FRACTION)) if len(group) > 1 else 0
        test.extend(group[:count])
        train.extend(group[count:])
    return train, test


def only_categories(rows: Iterable[BitextRow], categories: Sequence[str]) -> list[BitextRow]:
    wanted = {c.upper() for c in categories}
    return [r for r in rows if not wanted or r.category.upper() in wanted]
