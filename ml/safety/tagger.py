"""A learned recognizer for names, street addresses and phone numbers: a small token tagger
(characters and word shapes into a BiLSTM, BIO tags) that finds what the cue rules were never
shown: names and addresses of countries and formats no rule names.

It is trained on synthetic messages (``ml.safety.train_tagger``): the labelled PII sets' sentences
refilled with names, addresses and phone numbers of many Faker locales, and benign customer
queries as negatives. The trained weights ship in ``ml/safety/models/pii_tagger/`` with their
manifest (checked on load) and model card; ``PiiDetector`` adds its spans to the rules'.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from torch import Tensor, nn

from ml.artifacts import manifest_verify

ENTITIES = ("PERSON", "ADDRESS", "PHONE")
TAGS = ("O", *(f"{p}-{e}" for e in ENTITIES for p in ("B", "I")))
MODEL_DIR = Path(__file__).resolve().parent / "models" / "pii_tagger"
WEIGHTS = "model.pt"
CONFIG = "config.json"

# Words, single punctuation marks and line breaks, with their offsets.
_TOKEN = re.compile(r"\n|[^\W_]+(?:['’][^\W_]+)*|[^\w\s]|_")
_MAX_WORD = 24


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def shape(word: str) -> str:
    """The word's shape, runs squeezed to two: "Anna" -> "Xxx", "12b" -> "dx", "\\n" -> "NL"."""
    if word == "\n":
        return "NL"
    out: list[str] = []
    for char in word[:_MAX_WORD]:
        kind = "X" if char.isupper() else "x" if char.isalpha() else "d" if char.isdigit() else char
        if len(out) >= 2 and out[-1] == kind and out[-2] == kind:
            continue
        out.append(kind)
    return "".join(out)


@dataclass(frozen=True)
class TaggerConfig:
    chars: dict[str, int]
    words: dict[str, int]
    shapes: dict[str, int]
    char_dim: int = 32
    char_filters: int = 64
    word_dim: int = 48
    shape_dim: int = 16
    hidden: int = 96

    @classmethod
    def load(cls, path: Path) -> "TaggerConfig":
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, ensure_ascii=False), encoding="utf-8")


class PiiTagger(nn.Module):
    """chars (CNN, max-pooled) + lower-cased word + shape -> BiLSTM -> a tag per token."""

    def __init__(self, config: TaggerConfig):
        super().__init__()
        self.config = config
        self.char_embedding = nn.Embedding(len(config.chars) + 2, config.char_dim, padding_idx=0)
        self.char_conv = nn.Conv1d(config.char_dim, config.char_filters, 3, padding=1)
        self.word_embedding = nn.Embedding(len(config.words) + 2, config.word_dim, padding_idx=0)
        self.shape_embedding = nn.Embedding(len(config.shapes) + 2, config.shape_dim, padding_idx=0)
        width = config.char_filters + config.word_dim + config.shape_dim
        self.lstm = nn.LSTM(width, config.hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(0.25)
        self.out = nn.Linear(2 * config.hidden, len(TAGS))

    def forward(self, chars: Tensor, words: Tensor, shapes: Tensor) -> Tensor:
        """chars (batch, tokens, letters), words and shapes (batch, tokens) -> logits (batch,
        tokens, tags)."""
        batch, length, letters = chars.shape
        embedded = self.char_embedding(chars.view(batch * length, letters)).transpose(1, 2)
        per_word = torch.relu(self.char_conv(embedded)).max(dim=2).values.view(batch, length, -1)
        features = torch.cat(
            [per_word, self.word_embedding(words), self.shape_embedding(shapes)], dim=-1
        )
        hidden, _ = self.lstm(self.dropout(features))
        return self.out(self.dropout(hidden))  # type: ignore[no-any-return]

    def encode(self, sentences: list[list[Token]]) -> tuple[Tensor, Tensor, Tensor]:
        """Index tensors for a batch of tokenized sentences (padded with 0)."""
        length = max((len(s) for s in sentences), default=1) or 1
        chars = torch.zeros(len(sentences), length, _MAX_WORD, dtype=torch.long)
        words = torch.zeros(len(sentences), length, dtype=torch.long)
        shapes = torch.zeros(len(sentences), length, dtype=torch.long)
        c = self.config
        for i, sentence in enumerate(sentences):
            for j, token in enumerate(sentence):
                for k, char in enumerate(token.text[:_MAX_WORD]):
                    chars[i, j, k] = c.chars.get(char, 1)
                words[i, j] = c.words.get(token.text.casefold(), 1)
                shapes[i, j] = c.shapes.get(shape(token.text), 1)
        return chars, words, shapes


def decode(tokens: list[Token], tags: list[str]) -> list[tuple[str, int, int]]:
    """(entity, start, end) spans from BIO tags; an I- without its B- opens a span."""
    spans: list[tuple[str, int, int]] = []
    open_entity = ""  # the entity of the span the previous token belongs to, if any
    for token, tag_ in zip(tokens, tags, strict=True):
        kind, _, entity = tag_.partition("-")
        if kind == "I" and entity == open_entity:
            spans[-1] = (entity, spans[-1][1], token.end)
        elif kind in {"B", "I"}:
            spans.append((entity, token.start, token.end))
        open_entity = entity if kind != "O" else ""
    return spans


@cache
def shipped_tagger() -> PiiTagger:
    """The trained tagger in ``MODEL_DIR``, its files checked against the manifest."""
    manifest_verify(MODEL_DIR, "python -m ml.safety.train_tagger rebuilds it")
    model = PiiTagger(TaggerConfig.load(MODEL_DIR / CONFIG))
    model.load_state_dict(torch.load(MODEL_DIR / WEIGHTS, map_location="cpu", weights_only=True))
    model.eval()
    return model


def tag(text: str, model: PiiTagger | None = None) -> list[tuple[str, int, int]]:
    """The tagger's (entity, start, end) spans in ``text``."""
    tokens = tokenize(text)
    if not tokens:
        return []
    model = model or shipped_tagger()
    with torch.inference_mode():
        logits = model(*model.encode([tokens]))[0]
    tags = [TAGS[i] for i in logits.argmax(dim=-1).tolist()]
    return decode(tokens, tags)
