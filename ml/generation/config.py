"""Configuration of the base-model bootstrap and of a workspace's LoRA fine-tuning: dataclasses
loaded from YAML (``ml/configs/generation_*.yaml``)."""

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
DEFAULT_BASE_DIR = "var/models/generation/base"


@dataclass(frozen=True)
class BaseModelConfig:
    """The small Llama-architecture base trained from scratch when no real model is configured."""

    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 688
    layers: int = 4
    heads: int = 4
    max_positions: int = 1024
    seq_len: int = 512
    batch_size: int = 8
    lr: float = 3e-3
    warmup_steps: int = 30
    steps: int = 600
    max_minutes: float = 8.0  # stop (and save) after this long; 0: no limit
    seed: int = 7
    threads: int = 0
    rows_limit: int | None = None  # train on at most this many corpus rows (tests)
    # The share of corpus rows written as a grounded-answer chat (passages in the prompt, the
    # answer citing one or refusing) instead of a plain question/answer chat.
    grounded_share: float = 0.0
    output_dir: str = DEFAULT_BASE_DIR


DATASETS = ("bitext", "records")


@dataclass(frozen=True)
class SourceConfig:
    dataset: str  # bitext (the shipped corpus) or records (a workspace's JSON Lines export)
    categories: tuple[str, ...] = ()  # keep only these Bitext categories; empty: all
    limit: int | None = None  # at most this many training rows
    path: str = ""  # the records file


@dataclass(frozen=True)
class MixtureConfig:
    """How many examples of each task per training row, and how the passages are drawn."""

    answer: float = 1.0
    summary: float = 0.25
    rewrite: float = 0.25
    refusal_fraction: float = 0.25  # answer examples whose passages miss the answer
    passages: int = 2  # passages shown per answer example
    passage_words: int = 80  # each passage is cut to this many words


@dataclass(frozen=True)
class LoraConfig:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = (
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    )
    # Only these decoder layers get LoRA (peft's layers_to_transform); empty: every layer. The
    # top layers only: backpropagation then stops there, which halves a CPU step of a deep base.
    layers: tuple[int, ...] = ()


@dataclass(frozen=True)
class SftTrainingConfig:
    epochs: int = 1
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    max_steps: int = 0  # 0: epochs decide
    max_minutes: float = 0.0  # 0: no limit
    max_length: int = 640  # prompt + answer tokens; longer prompts lose passage text
    eval_examples: int = 60  # validation answers generated at the end
    # Loss weight of a grounded answer's first tokens, where it picks the passage it cites or
    # says it doesn't know (1: every answer token counts the same).
    decision_weight: float = 1.0
    seed: int = 11
    threads: int = 0


@dataclass(frozen=True)
class SftConfig:
    name: str  # the workspace adapter's name (what vLLM serves it as)
    sources: tuple[SourceConfig, ...]
    base: str = ""  # a Hugging Face folder; empty: the bootstrapped base
    mixture: MixtureConfig = MixtureConfig()
    lora: LoraConfig = LoraConfig()
    training: SftTrainingConfig = SftTrainingConfig()
    output_dir: str = "var/models/generation/adapters"

    @property
    def base_path(self) -> str:
        return self.base or DEFAULT_BASE_DIR

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build(cls: type[T], raw: dict[str, Any], where: str) -> T:
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def base_config_from_dict(raw: dict[str, Any]) -> BaseModelConfig:
    config = _build(BaseModelConfig, raw, "base model")
    if config.hidden_size % config.heads:
        raise ValueError("hidden_size must be a multiple of heads")
    if not 0 <= config.grounded_share <= 1:
        raise ValueError("grounded_share must be in [0, 1]")
    return config


def sft_config_from_dict(raw: dict[str, Any]) -> SftConfig:
    if "name" not in raw or not raw.get("sources"):
        raise ValueError("a generation config needs a name and at least one source")
    unknown = set(raw) - {f.name for f in fields(SftConfig)}
    if unknown:
        raise ValueError(
            f"unknown key(s) {sorted(unknown)}; known: {[f.name for f in fields(SftConfig)]}"
        )
    name = str(raw["name"])
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"adapter name {name!r}: use letters, digits, '-' and '_' only")
    sources = tuple(_build(SourceConfig, s, "sources") for s in raw["sources"])
    for source in sources:
        if source.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {source.dataset!r}; known: {', '.join(DATASETS)}")
        if (source.dataset == "records") != bool(source.path):
            raise ValueError("a records source needs a path, and only a records source has one")
    mixture = _build(MixtureConfig, raw.get("mixture", {}), "mixture")
    if not 0 <= mixture.refusal_fraction < 1 or mixture.passages < 1:
        raise ValueError("mixture: refusal_fraction in [0, 1) and passages >= 1")
    return SftConfig(
        name=name,
        sources=sources,
        base=str(raw.get("base", "")),
        mixture=mixture,
        lora=_build(LoraConfig, raw.get("lora", {}), "lora"),
        training=_build(SftTrainingConfig, raw.get("training", {}), "training"),
        output_dir=str(raw.get("output_dir", "var/models/generation/adapters")),
    )


def _yaml(path: Path) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a YAML mapping")
    return raw


def sft_config_load(path: Path) -> SftConfig:
    return sft_config_from_dict(_yaml(path))


def base_config_load(path: Path) -> BaseModelConfig:
    return base_config_from_dict(_yaml(path))
