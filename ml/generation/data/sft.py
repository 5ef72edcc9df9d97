"""The multi-task SFT mixture built from a workspace's knowledge (Bitext responses as passages)
and its conversations (Bitext questions, redacted):

- ``answer``: passages + conversation -> "[Pn] answer" citing the passage it used, or, when the
  passages were drawn without the one that answers (``refusal_fraction`` of them), the refusal.
- ``summary``: a conversation that ends in a request for a person -> a handoff summary.
- ``rewrite``: a follow-up that refers back ("cancel it") -> the standalone question.
"""

import random
from collections import defaultdict
from collections.abc import Sequence

from ml.generation.config import MixtureConfig
from ml.generation.contracts import Passage, SftExample, Turn
from ml.generation.data.bitext import BitextRow
from ml.generation.prompts import (
    REFUSAL,
    answer_messages,
    rewrite_messages,
    summary_messages,
)

HANDOFF_ASKS = (
    "I want to talk to a person.",
    "Can I speak to a human agent please?",
    "this doesn't help, get me an agent",
    "I'd rather talk to someone from your team.",
)
REFERS_BACK = {"order_id": "that order", "invoice_id": "that invoice", "account_type": "it"}


def first_sentence(text: str, max_words: int = 30) -> str:
    flat = " ".join(text.split())
    end = min((flat.find(c) for c in ".!?" if flat.find(c) > 0), default=len(flat) - 1)
    return " ".join(flat[: end + 1].split()[:max_words])


def cut_words(text: str, words: int) -> str:
    """The first ``words`` words, keeping line breaks (numbered steps read as steps)."""
    lines, kept = [], 0
    for line in text.splitlines():
        tokens = line.split()
        if kept + len(tokens) > words:
            tokens = tokens[: max(0, words - kept)]
        if tokens:
            lines.append(" ".join(tokens))
        kept += len(tokens)
        if kept >= words:
            break
    return "\n".join(lines)


class PassagePool:
    """The workspace's knowledge: one passage per corpus response, grouped by intent."""

    def __init__(self, rows: Sequence[BitextRow], passage_words: int):
        self.by_intent: dict[str, list[BitextRow]] = defaultdict(list)
        for row in rows:
            self.by_intent[row.intent].append(row)
        self.intents = sorted(self.by_intent)
        self.passage_words = passage_words

    def draw(
        self, question_row: BitextRow, count: int, rng: random.Random, *, answerable: bool
    ) -> tuple[list[Passage], str | None]:
        """``count`` passages (shuffled) and the id of the one that answers (None when
        ``answerable`` is false: every passage is about another intent)."""
        others = [i for i in self.intents if i != question_row.intent]
        picked: list[tuple[BitextRow, bool]] = []
        if answerable:
            # Another answer of the same intent; a group with one answer (a knowledge-base
            # article asked one way) is its own passage.
            same = [r for r in self.by_intent[question_row.intent] if r is not question_row]
            picked.append((rng.choice(same) if same else question_row, True))
        for intent in rng.sample(others, min(len(others), count - len(picked))):
            picked.append((rng.choice(self.by_intent[intent]), False))
        rng.shuffle(picked)
        passages, gold = [], None
        for index, (row, is_gold) in enumerate(picked, 1):
            pid = f"P{index}"
            text = cut_words(row.response, self.passage_words)
            passages.append(Passage(pid=pid, text=text, source_id=row.row_id))
            if is_gold:
                gold = pid
        return passages, gold


def answer_example(
    row: BitextRow, pool: PassagePool, mixture: MixtureConfig, rng: random.Random, *, refuse: bool
) -> SftExample:
    passages, gold = pool.draw(row, mixture.passages, rng, answerable=not refuse)
    turns = [Turn("customer", row.question)]
    # The citation comes first: the model commits to its source before it writes.
    target = REFUSAL if gold is None else f"[{gold}] {row.response}"
    return SftExample(
        task="answer",
        messages=tuple(answer_messages(passages, turns)),
        target=target,
        meta={"row_id": row.row_id, "gold": gold or "", "intent": row.intent},
        passages=tuple(passages),
    )


def summary_example(row: BitextRow, rng: random.Random) -> SftExample:
    turns = [
        Turn("customer", row.question),
        Turn("bot", first_sentence(row.response)),
        Turn("customer", rng.choice(HANDOFF_ASKS)),
    ]
    details = (
        f"{row.entity_type.replace('_', ' ')} {row.entity_text}" if row.entity_text else "none"
    )
    target = (
        f"Customer wants: {row.intent.replace('_', ' ')} ({row.category.lower()}). "
        f"Details given: {details}. The bot's answer did not settle it; "
        "the customer asked for a person."
    )
    return SftExample("summary", tuple(summary_messages(turns)), target, {"row_id": row.row_id})


def rewrite_example(row: BitextRow, rng: random.Random) -> SftExample:
    """A follow-up question that refers back to what the customer said before; rows without a
    span become a follow-up that is already standalone (the rewrite keeps it)."""
    if row.entity_text and row.entity_type in REFERS_BACK:
        follow_up = row.question.replace(row.entity_text, REFERS_BACK[row.entity_type], 1)
        context = f"it's about {row.entity_text}"
    else:
        follow_up, context = row.question, rng.choice(("hello", "hi there", "I have a question"))
    turns = [
        Turn("customer", context),
        Turn("bot", "Sure, how can I help?"),
        Turn("customer", follow_up),
    ]
    return SftExample(
        "rewrite", tuple(rewrite_messages(turns)), row.question, {"row_id": row.row_id}
    )


def build_mixture(
    rows: Sequence[BitextRow], pool: PassagePool, mixture: MixtureConfig, rng: random.Random
) -> list[SftExample]:
    examples: list[SftExample] = []
    for row in rows:
        if rng.random() < mixture.answer:
            refuse = rng.random() < mixture.refusal_fraction
            examples.append(answer_example(row, pool, mixture, rng, refuse=refuse))
        if rng.random() < mixture.summary:
            examples.append(summary_example(row, rng))
        if rng.random() < mixture.rewrite:
            examples.append(rewrite_example(row, rng))
    rng.shuffle(examples)
    return examples
