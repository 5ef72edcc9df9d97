"""Training-data hygiene: the frozen evaluation set, duplicates and conflicting labels.

Definitions:

- The **normalised text** of a row is its NFKC form, case-folded, with punctuation removed and
  whitespace collapsed: "I lost my card!" and "i lost  my card" are the same text.
- The **frozen evaluation set** rule: a reviewed label whose normalised text's SHA-256, read as
  an integer, is below ``frozen_percent`` modulo 100 goes to the workspace's frozen evaluation
  set, forever (the rule depends on the text alone, so it never changes its mind). Such a row
  never trains, and neither does any row, from whatever source, whose normalised text equals a
  frozen text or whose embedding is a near-duplicate of one.
- **Exact duplicates**: rows with the same normalised text and label; the first is kept.
- **Near-duplicates**: rows of the same label whose sentence embeddings have cosine at least
  ``threshold``; going through the rows in order, a row is dropped when a kept row of its label
  is that close (so the caller orders rows by preference: reviewed labels first, say).
- **Conflicts**: the same normalised text with different labels (every such row is held out of
  training until someone decides), and kept rows of different labels whose embeddings are at
  least ``threshold`` close (flagged for review, kept: near is not the same).
"""

import hashlib
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Chosen on data by benchmarks/dedup_threshold.py (results/dedup_threshold.json): the lowest
# cosine at which at most 0.5% of BANKING77 sentences have a different-intent neighbour (0.47%;
# none of CLINC150's), while it still catches 100% of case, 98% of punctuation and 98% of
# one-filler-word variants of a sentence.
NEAR_DUPLICATE_THRESHOLD = 0.91
FROZEN_PERCENT = 20
REVIEWED = "reviewed"

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TrainingRow:
    """A labelled text and where its label came from (``reviewed`` by an operator, a weak
    label from a rule, the workspace's own examples...)."""

    text: str
    label: str
    source: str


@dataclass(frozen=True)
class Duplicate:
    """Row ``dropped`` (an index into the rows given) repeats the kept row ``kept``."""

    dropped: int
    kept: int
    similarity: float  # 1.0 for the same normalised text


@dataclass(frozen=True)
class Conflict:
    """Rows ``first`` and ``second`` carry different labels for the same or a near text."""

    first: int
    second: int
    similarity: float  # 1.0 for the same normalised text
    same_text: bool


@dataclass(frozen=True)
class HygieneReport:
    """``training``: indices of the rows that may train, in order. ``newly_frozen``: indices of
    reviewed rows the rule puts in the frozen set now (the caller stores them there).
    ``frozen_leaks``: indices of rows held out because their text is, or is near, a frozen one."""

    training: tuple[int, ...]
    newly_frozen: tuple[int, ...]
    frozen_leaks: tuple[int, ...]
    duplicates: tuple[Duplicate, ...]
    conflicts: tuple[Conflict, ...]


def normalise(text: str) -> str:
    """The normalised text (module docstring)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in folded)
    return _SPACES.sub(" ", kept).strip()


def is_frozen(*, text: str, frozen_percent: int = FROZEN_PERCENT) -> bool:
    """Whether the frozen-set rule puts a reviewed label of ``text`` in the frozen set."""
    digest = hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()
    return int(digest, 16) % 100 < frozen_percent


def clean_training_rows(
    *,
    rows: Sequence[TrainingRow],
    embeddings: NDArray[np.float32],
    frozen_texts: Collection[str] = (),
    frozen_embeddings: NDArray[np.float32] | None = None,
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
    frozen_percent: int = FROZEN_PERCENT,
    frozen_sources: Collection[str] = (REVIEWED,),
) -> HygieneReport:
    """Which ``rows`` may train, and why the others may not.

    ``embeddings``: one unit-length sentence embedding per row (``ml.retrieval.encoder``'s
    ``DenseEncoder().encode``), so a dot product is the cosine. ``frozen_texts``: the texts
    already in the workspace's frozen set; ``frozen_embeddings``: theirs, to hold out training
    rows near them too (optional). Rows whose source is in ``frozen_sources`` go to the frozen
    set when ``is_frozen`` says so.
    """
    if len(embeddings) != len(rows):
        raise ValueError(f"{len(embeddings)} embeddings for {len(rows)} rows")
    texts = [normalise(row.text) for row in rows]
    frozen = {normalise(text) for text in frozen_texts}
    newly_frozen = [
        i
        for i, row in enumerate(rows)
        if row.source in frozen_sources and is_frozen(text=row.text, frozen_percent=frozen_percent)
    ]
    frozen |= {texts[i] for i in newly_frozen}
    newly = set(newly_frozen)
    near_frozen = np.zeros(len(rows), dtype=bool)
    if frozen_embeddings is not None and len(frozen_embeddings) and len(rows):
        near_frozen = (embeddings @ frozen_embeddings.T).max(axis=1) >= threshold
    leaks = [
        i for i in range(len(rows)) if i not in newly and (texts[i] in frozen or near_frozen[i])
    ]
    held_out = newly | set(leaks)
    candidates = [i for i in range(len(rows)) if i not in held_out]

    labels_by_text: dict[str, set[str]] = {}
    for i in candidates:
        labels_by_text.setdefault(texts[i], set()).add(rows[i].label)
    conflicts: list[Conflict] = []
    first_of_text: dict[str, int] = {}
    duplicates: list[Duplicate] = []
    kept: list[int] = []
    kept_by_label: dict[str, list[int]] = {}
    for i in candidates:
        text = texts[i]
        if len(labels_by_text[text]) > 1:
            if text in first_of_text:
                conflicts.append(Conflict(first_of_text[text], i, 1.0, same_text=True))
            else:
                first_of_text[text] = i
            continue
        if text in first_of_text:
            duplicates.append(Duplicate(i, first_of_text[text], 1.0))
            continue
        first_of_text[text] = i
        same_label = kept_by_label.setdefault(rows[i].label, [])
        if same_label:
            similarities = embeddings[same_label] @ embeddings[i]
            best = int(similarities.argmax())
            if similarities[best] >= threshold:
                duplicates.append(Duplicate(i, same_label[best], float(similarities[best])))
                continue
        same_label.append(i)
        kept.append(i)
    conflicts += _near_conflicts(kept, rows, embeddings, threshold)
    return HygieneReport(
        training=tuple(kept),
        newly_frozen=tuple(newly_frozen),
        frozen_leaks=tuple(leaks),
        duplicates=tuple(duplicates),
        conflicts=tuple(conflicts),
    )


def _near_conflicts(
    kept: list[int], rows: Sequence[TrainingRow], embeddings: NDArray[np.float32], threshold: float
) -> list[Conflict]:
    """Pairs of kept rows with different labels at or above ``threshold``, in blocks so memory
    stays at 512 x len(kept) similarities."""
    if not kept:
        return []
    vectors = embeddings[kept]
    labels = np.array([rows[i].label for i in kept])
    found: list[Conflict] = []
    for start in range(0, len(kept), 512):
        block = vectors[start : start + 512] @ vectors.T
        for a, b in zip(*np.nonzero(block >= threshold), strict=True):
            a_index = start + int(a)
            if a_index < int(b) and labels[a_index] != labels[b]:
                found.append(Conflict(kept[a_index], kept[b], float(block[a, b]), same_text=False))
    return found
