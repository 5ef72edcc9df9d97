"""From texts to padded tensors, slot spans to BIO tags per token, and back."""

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from transformers import PreTrainedTokenizerBase

from ml.nlu.contracts import Example, SlotSpan
from ml.nlu.model import IGNORE, Labels


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    offsets: list[tuple[int, int]]
    intent: int
    slot_tags: list[int]
    sentiment: int
    is_oos: bool = False  # an out-of-scope example (outlier exposure while training)


def bio_tags(
    offsets: Sequence[tuple[int, int]], spans: Sequence[SlotSpan], labels: Labels
) -> list[int]:
    index = {tag: i for i, tag in enumerate(labels.slot_tags)}
    tags = []
    for start, end in offsets:
        if start == end:  # [CLS], [SEP]
            tags.append(IGNORE)
            continue
        tag = "O"
        for span in spans:
            if start >= span.start and end <= span.end:
                inside = any(s < start and e > span.start for s, e in offsets if s != e)
                tag = f"{'I' if inside else 'B'}-{span.slot}"
                break
        tags.append(index.get(tag, 0))
    return tags


def encode_examples(
    examples: Sequence[Example],
    tokenizer: PreTrainedTokenizerBase,
    labels: Labels,
    max_length: int,
) -> list[Encoded]:
    if not examples:
        return []
    intents = {name: i for i, name in enumerate(labels.intents)}
    sentiments = {name: i for i, name in enumerate(labels.sentiments)}
    batch = tokenizer(
        [e.text for e in examples],
        truncation=True,
        max_length=max_length,
        return_offsets_mapping=True,
    )
    encoded = []
    for i, example in enumerate(examples):
        offsets = [tuple(o) for o in batch["offset_mapping"][i]]
        tags = (
            bio_tags(offsets, example.slots, labels)
            if example.slots is not None
            else [IGNORE] * len(offsets)
        )
        encoded.append(
            Encoded(
                input_ids=list(batch["input_ids"][i]),
                offsets=offsets,
                intent=intents.get(example.intent, IGNORE) if example.intent else IGNORE,
                slot_tags=tags,
                sentiment=sentiments[example.sentiment] if example.sentiment else IGNORE,
                is_oos=example.is_oos,
            )
        )
    return encoded


@dataclass(frozen=True)
class Batch:
    input_ids: Tensor
    attention_mask: Tensor
    intent: Tensor
    slot_tags: Tensor
    sentiment: Tensor
    indices: list[int]
    oos: Tensor  # bool per row: an out-of-scope example


def collate(items: Sequence[Encoded], indices: list[int], pad_id: int) -> Batch:
    width = max(len(item.input_ids) for item in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    tags = torch.full((len(items), width), IGNORE, dtype=torch.long)
    for row, item in enumerate(items):
        n = len(item.input_ids)
        ids[row, :n] = torch.tensor(item.input_ids)
        mask[row, :n] = 1
        tags[row, :n] = torch.tensor(item.slot_tags)
    return Batch(
        input_ids=ids,
        attention_mask=mask,
        intent=torch.tensor([item.intent for item in items]),
        slot_tags=tags,
        sentiment=torch.tensor([item.sentiment for item in items]),
        indices=indices,
        oos=torch.tensor([item.is_oos for item in items], dtype=torch.bool),
    )


def task_signature(item: Encoded) -> tuple[bool, bool, bool]:
    """Which tasks an item teaches: (intent, slots, sentiment). An out-of-scope example
    teaches the intent head (what not to be sure of)."""
    return (
        item.intent != IGNORE or item.is_oos,
        any(tag != IGNORE for tag in item.slot_tags),
        item.sentiment != IGNORE,
    )


def batch_count(items: Sequence[Encoded], batch_size: int, by_task: bool) -> int:
    sizes: dict[tuple[bool, bool, bool], int] = {}
    for item in items:
        key = task_signature(item) if by_task else (True, True, True)
        sizes[key] = sizes.get(key, 0) + 1
    return sum(-(-size // batch_size) for size in sizes.values())


def batches(
    items: Sequence[Encoded],
    batch_size: int,
    pad_id: int,
    rng: random.Random | None = None,
    by_task: bool = False,
) -> Iterator[Batch]:
    """Batches of similar lengths (less padding, much faster on CPU), in a shuffled order when
    ``rng`` is given; otherwise in length order, for inference. ``by_task``: every batch holds
    examples of one task mix only (one source of a mixture), as in MT-DNN, so a task's batch
    is as large as in single-task training; the batches of all tasks are shuffled together."""
    groups: dict[tuple[bool, bool, bool], list[int]] = {}
    for index, item in enumerate(items):
        key = task_signature(item) if by_task else (True, True, True)
        groups.setdefault(key, []).append(index)
    chunks: list[list[int]] = []
    for order in groups.values():
        if rng is not None:
            rng.shuffle(order)
            # Sort within pools of 50 batches: random enough, yet little padding.
            pool = batch_size * 50
            order = [
                i
                for start in range(0, len(order), pool)
                for i in sorted(order[start : start + pool], key=lambda j: len(items[j].input_ids))
            ]
        else:
            order.sort(key=lambda j: len(items[j].input_ids))
        chunks += [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(chunks)
    for chunk in chunks:
        yield collate([items[i] for i in chunk], chunk, pad_id)


def decode_slots(
    text: str, offsets: Sequence[tuple[int, int]], tags: Sequence[int], labels: Labels
) -> tuple[SlotSpan, ...]:
    """Spans from per-token tags; an I- without a B- before it starts a span (BIO repair)."""
    spans: list[SlotSpan] = []
    current: tuple[str, int, int] | None = None

    def close() -> None:
        if current is not None:
            slot, start, end = current
            spans.append(SlotSpan(slot=slot, start=start, end=end, value=text[start:end]))

    for (start, end), tag_id in zip(offsets, tags, strict=True):
        if start == end:
            continue
        tag = labels.slot_tags[tag_id]
        if tag == "O":
            close()
            current = None
            continue
        kind, slot = tag.split("-", 1)
        if kind == "I" and current is not None and current[0] == slot:
            current = (slot, current[1], end)
        else:
            close()
            current = (slot, start, end)
    close()
    return tuple(spans)
