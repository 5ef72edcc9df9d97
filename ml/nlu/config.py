"""Training configuration: dataclasses loaded from YAML (``ml/configs/nlu_*.yaml``)."""

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ml.encoders import minilm_path

T = TypeVar("T")


@dataclass(frozen=True)
class SourceConfig:
    """One dataset in the training mixture and the tasks it teaches."""

    dataset: str  # banking77 | clinc150 | woz2 | bitext | jsonl
    tasks: tuple[str, ...] = ("intent",)
    shots: int | None = None  # keep this many training examples per intent
    limit: int | None = None  # keep at most this many training examples
    path: str | None = None  # for ``jsonl``: a workspace export
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelConfig:
    encoder: str = ""  # a Hugging Face folder; empty: the shipped MiniLM
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    target_modules: tuple[str, ...] = ("query", "key", "value", "dense")
    # The bottom N encoder layers get no LoRA: they see no gradient, so training computes their
    # outputs once per example and each step runs only the layers above (ml/nlu/model.py).
    frozen_layers: int = 0
    head_dropout: float = 0.1
    # "imprint": start the intent head at the class means of the encoder's embeddings (a
    # nearest-centroid classifier, Qi et al. 2018), which helps most with few examples.
    head_init: str = "random"
    # A logistic regression on the shared encoder's own embeddings, mixed with the intent head
    # by a share chosen on validation (ml/nlu/probe.py); costs the base pass when kept.
    base_probe: bool = False
    max_length: int = 64

    @property
    def encoder_path(self) -> str:
        return self.encoder or str(minilm_path())


@dataclass(frozen=True)
class TrainingConfig:
    # The budget: ``epochs`` passes over the training set, or ``max_steps`` optimizer steps if
    # that comes first (0: no step cap). Training also stops after ``patience`` validations
    # without improvement. The learning rate decays over the budget's steps.
    epochs: int = 8
    max_steps: int = 0
    batch_size: int = 32
    lr: float = 1e-3  # LoRA and heads
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    label_smoothing: float = 0.1
    patience: int = 2  # evaluations without improvement before stopping
    eval_every: int = 0  # steps between validation runs; 0: once per epoch
    # A safety net, not a budget: stop (keeping the best so far) after this long; 0: none. A run
    # it cuts is recorded with stop_reason "time_limit" and a warning, since the model then
    # depends on how fast the machine was. Set it well above what the budget takes.
    max_minutes: float = 0.0
    loss_weighting: str = "uncertainty"  # uncertainty | dwa | equal (benchmarks.weighting_ablation)
    # Weight of the outlier-exposure loss on out-of-scope training examples; 0: not trained on.
    outlier_exposure: float = 0.0
    weighting_lr: float = 0.02  # for the learned uncertainty weights
    batching: str = "by_task"  # by_task: one source's examples per batch; mixed: any
    validation_fraction: float = 0.1  # held out from train when a dataset has no validation split
    seed: int = 13
    threads: int = 0  # torch threads; 0: torch's default


OOS_METHODS = ("knn", "knn_base", "knn_mix", "ensemble", "msp", "energy")  # ml/nlu/oos.py
OOS_RULES = ("youden", "even_odds")  # how the threshold is chosen; see ml/nlu/oos.py


@dataclass(frozen=True)
class OosConfig:
    method: str = "knn"  # knn | knn_base | knn_mix | ensemble | msp | energy (ml/nlu/oos.py)
    k: int = 5
    # Without out-of-scope validation examples the threshold keeps this share of in-scope ones.
    inscope_keep: float = 0.97
    # With out-of-scope validation examples: catch this share of them (None: ``rule``).
    target_recall: float | None = None
    # youden (Youden's J) | even_odds (calibrated out-of-scope probability > 0.5); see oos.py.
    rule: str = "youden"
    # Add the shipped general out-of-scope queries (ml/nlu/data/generic_oos) to the out-of-scope
    # examples the threshold (and knn_mix's weights) are fitted on.
    generic_negatives: bool = False
    # With out-of-scope examples: fewer than this leave the threshold at ``inscope_keep``, and
    # the fitted threshold never flags over ``max_flagged`` of the in-scope validation ones.
    min_examples: int = 1
    max_flagged: float = 1.0


@dataclass(frozen=True)
class NluConfig:
    name: str
    sources: tuple[SourceConfig, ...]
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    oos: OosConfig = OosConfig()
    output_dir: str = "var/models/nlu"

    @property
    def tasks(self) -> tuple[str, ...]:
        found = {task for source in self.sources for task in source.tasks}
        return tuple(t for t in ("intent", "slots", "sentiment") if t in found)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build(cls: type[T], raw: dict[str, Any], where: str) -> T:
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(raw) - set(known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    values = {}
    for key, value in raw.items():
        values[key] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def config_from_dict(raw: dict[str, Any]) -> NluConfig:
    if "name" not in raw or "sources" not in raw:
        raise ValueError("an NLU config needs a name and at least one source")
    sources = tuple(_build(SourceConfig, s, "sources") for s in raw["sources"])
    for source in sources:
        bad = set(source.tasks) - {"intent", "slots", "sentiment"}
        if bad:
            raise ValueError(f"source {source.dataset}: unknown task(s) {sorted(bad)}")
    training = _build(TrainingConfig, raw.get("training", {}), "training")
    if training.epochs < 1 or training.max_steps < 0 or training.max_minutes < 0:
        raise ValueError("training.epochs must be >= 1, max_steps and max_minutes >= 0")
    if training.loss_weighting not in {"uncertainty", "dwa", "equal"}:
        raise ValueError("training.loss_weighting must be uncertainty, dwa or equal")
    model = _build(ModelConfig, raw.get("model", {}), "model")
    if model.head_init not in {"random", "imprint"}:
        raise ValueError("model.head_init must be random or imprint")
    if training.batching not in {"by_task", "mixed"}:
        raise ValueError("training.batching must be by_task or mixed")
    oos = _build(OosConfig, raw.get("oos", {}), "oos")
    if oos.method not in OOS_METHODS:
        raise ValueError(f"oos.method must be one of {', '.join(OOS_METHODS)}")
    if oos.rule not in OOS_RULES:
        raise ValueError(f"oos.rule must be one of {', '.join(OOS_RULES)}")
    return NluConfig(
        name=str(raw["name"]),
        sources=sources,
        model=model,
        training=training,
        oos=oos,
        output_dir=str(raw.get("output_dir", "var/models/nlu")),
    )


def config_load(path: Path) -> NluConfig:
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a YAML mapping")
    return config_from_dict(raw)


# What a workspace's training run fits its out-of-scope detector with (apps/nlu/services.py):
# the distance to the training examples in the base encoder's space, fitted against the shipped
# general out-of-scope queries plus the workspace's own on even odds (its validation rows are
# often near-copies of its training rows), never flagging over 10 % of in-scope validation.
# benchmarks/nlu_heldout.py compared the alternatives on held-out-intent splits: some catch more
# questions about intents the workspace lacks, but each flagged ordinary rephrasings of the demo
# shop's templated examples two to nine times as often (README, "Understanding messages").
WORKSPACE_OOS: dict[str, Any] = {
    "method": "knn_base",
    "k": 5,
    "inscope_keep": 0.97,
    "generic_negatives": True,
    "rule": "even_odds",
    "min_examples": 10,
    "max_flagged": 0.10,
}


def workspace_config(
    name: str, data_path: Path | str | None, training: dict[str, Any]
) -> dict[str, Any]:
    """The configuration (as a dict, ``config_from_dict``'s input) a workspace's model is trained
    with: its exported examples teach every task, out-of-scope detection as ``WORKSPACE_OOS``."""
    return {
        "name": name,
        "sources": [
            {
                "dataset": "jsonl",
                "path": None if data_path is None else str(data_path),
                "tasks": ["intent", "slots", "sentiment"],
            }
        ],
        "training": dict(training),
        "oos": dict(WORKSPACE_OOS),
    }
