"""The pieces shared by bootstrap, fine-tuning and the in-process engine: the chat format, the
tokenizer wrapper and how one supervised example becomes token ids."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from ml.generation.contracts import ChatMessage, SftExample

END = "<|end|>"
PAD = "<|pad|>"
BOS = "<|bos|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS = (PAD, BOS, END, *ROLE_TOKENS)
# Jinja, as Hugging Face and vLLM render it: each message between its role token and <|end|>.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
IGNORE = -100


def chat_text(messages: Sequence[ChatMessage], answer: str) -> str:
    """A whole chat, the assistant's answer included, exactly as ``CHAT_TEMPLATE`` renders it
    (for the base model's corpus, written before its tokenizer exists)."""
    turns = "".join(f"<|{m.role}|>\n{m.content}{END}\n" for m in messages)
    return f"{turns}<|assistant|>\n{answer}{END}\n"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def tokenizer_load(path: str | Path) -> PreTrainedTokenizerBase:
    if not Path(path).is_dir():
        raise FileNotFoundError(
            f"no base model at {path}; run `python -m ml.generation.bootstrap` or configure a "
            "Hugging Face model folder"
        )
    tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.chat_template is None:
        raise ValueError(f"{path}: the tokenizer has no chat template")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def render(tokenizer: PreTrainedTokenizerBase, messages: Sequence[ChatMessage]) -> str:
    """The prompt text exactly as vLLM's chat endpoint renders it (generation prompt added)."""
    text = tokenizer.apply_chat_template(
        [m.to_json() for m in messages], tokenize=False, add_generation_prompt=True
    )
    assert isinstance(text, str)
    return text


def ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    encoded: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    return encoded


# The first answer tokens of a grounded answer are its decision: which passage it cites ("[P2]")
# or that it doesn't know. A handful of tokens against a hundred of answer text, so training can
# weigh them more (``decision_weight``).
DECISION_TOKENS = 4


@dataclass(frozen=True)
class EncodedExample:
    input_ids: list[int]
    labels: list[int]  # IGNORE on the prompt: the loss is on the answer tokens only
    decision: int = 0  # how many leading answer tokens carry the answer's decision


def encode_example(
    tokenizer: PreTrainedTokenizerBase, example: SftExample, max_length: int
) -> EncodedExample:
    """Prompt + answer + end token. A prompt too long for ``max_length`` loses text from its
    middle (the passages), never the instructions at its start or the question at its end."""
    prompt = ids(tokenizer, render(tokenizer, example.messages))
    answer = [*ids(tokenizer, example.target), int(tokenizer.eos_token_id)]
    answer = answer[: max_length // 2]
    room = max_length - len(answer)
    if len(prompt) > room:
        head = room // 3
        prompt = prompt[:head] + prompt[len(prompt) - (room - head) :]
    decision = DECISION_TOKENS if example.task == "answer" else 0
    return EncodedExample(prompt + answer, [IGNORE] * len(prompt) + answer, decision)


@dataclass(frozen=True)
class Batch:
    input_ids: torch.Tensor
    labels: torch.Tensor  # IGNORE where there is no loss
    mask: torch.Tensor
    weights: torch.Tensor  # per label position: 1, ``decision_weight`` on decision tokens


def pad_batch(items: Sequence[EncodedExample], pad_id: int, decision_weight: float = 1.0) -> Batch:
    width = max(len(item.input_ids) for item in items)
    input_ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    weights = torch.ones((len(items), width))
    for row, item in enumerate(items):
        n = len(item.input_ids)
        input_ids[row, :n] = torch.tensor(item.input_ids)
        labels[row, :n] = torch.tensor(item.labels)
        mask[row, :n] = 1
        first = n - sum(label != IGNORE for label in item.labels)
        weights[row, first : first + item.decision] = decision_weight
    return Batch(input_ids, labels, mask, weights)


def weighted_loss(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Next-token cross-entropy over the labelled positions, each weighted, normalised by the
    total weight (all weights 1: the usual mean)."""
    targets = batch.labels[:, 1:]
    per_token = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]),
        targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="none",
    ).view_as(targets)
    weights = batch.weights[:, 1:] * (targets != IGNORE)
    return (per_token * weights).sum() / weights.sum().clamp(min=1e-9)
