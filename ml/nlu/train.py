"""Trains one workspace's NLU model: ``python -m ml.nlu.train --config ml/configs/<name>.yaml``.

Writes an artifact folder (adapter, heads, label maps, calibration, config, metrics, model card,
training logs as CSV, SHA-256 manifest) and prints its validation metrics.
"""

import argparse
import csv
import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from peft import PeftModel
from safetensors.torch import save_file
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence
from tqdm import tqdm
from transformers import AutoTokenizer

from ml.artifacts import manifest_write
from ml.nlu.config import NluConfig, config_load
from ml.nlu.contracts import Example, NluData
from ml.nlu.data import load_mixture
from ml.nlu.data.clinc150 import generic_oos_queries
from ml.nlu.fast import FastEncoder, adapter_from_peft
from ml.nlu.metrics import span_f1
from ml.nlu.model import (
    IGNORE,
    FrozenBottom,
    Labels,
    NluHeads,
    TaskWeighting,
    encode,
    load_base,
    with_new_lora,
)
from ml.nlu.oos import OosDetector, normalize_rows, temperature_fit
from ml.nlu.probe import IntentProbe
from ml.nlu.runtime import OOS_FILE, Outputs, fast_pass, own_pass, run_model
from ml.nlu.tokens import Batch, Encoded, batch_count, batches, decode_slots, encode_examples

ADAPTER = "default"
# Why training stopped: the planned epochs ran, the step cap was reached, validation stopped
# improving, or the safety net (``training.max_minutes``) cut it, which no run should rely on.
STOP_REASONS = ("epochs_done", "max_steps", "patience", "time_limit")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    directory: Path
    validation: dict[str, Any]
    seconds: float
    steps: int
    stop_reason: str  # one of STOP_REASONS
    steps_planned: int
    epochs_planned: int
    epochs_completed: float  # steps run / steps per epoch

    @property
    def cut_by_time_limit(self) -> bool:
        return self.stop_reason == "time_limit"

    def budget(self) -> dict[str, Any]:
        """How the run used its budget, as meta.json, the CLI and workspace runs record it."""
        out: dict[str, Any] = {
            "stop_reason": self.stop_reason,
            "steps": self.steps,
            "steps_planned": self.steps_planned,
            "epochs_planned": self.epochs_planned,
            "epochs_completed": self.epochs_completed,
        }
        if self.cut_by_time_limit:
            out["warning"] = time_limit_warning(
                self.steps, self.steps_planned, self.epochs_completed, self.epochs_planned
            )
        return out


def time_limit_warning(steps: int, planned: int, epochs: float, epochs_planned: int) -> str:
    return (
        f"the time limit (training.max_minutes, a safety net) cut training after {steps} of "
        f"{planned} planned steps ({epochs:g} of {epochs_planned} epochs): this model is not "
        "the one its config describes, and another machine would train a different one; "
        "raise max_minutes or lower the epochs"
    )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def task_losses(
    heads: NluHeads,
    states: Tensor,
    batch: Batch,
    tasks: Sequence[str],
    label_smoothing: float,
    outlier_exposure: float = 0.0,
) -> dict[str, Tensor]:
    """The loss of each task that has at least one label in the batch. ``outlier_exposure``:
    the weight of the out-of-scope rows' loss, the divergence of their intent distribution
    from the uniform one (Hendrycks et al., 2019), so the model learns not to be sure of them."""
    out = heads(states, batch.attention_mask)
    intent, slot_tags, sentiment = batch.intent, batch.slot_tags, batch.sentiment
    losses: dict[str, Tensor] = {}
    if "intent" in tasks:
        parts = []
        if (intent != IGNORE).any():
            parts.append(
                nn.functional.cross_entropy(
                    out.intent_logits, intent, ignore_index=IGNORE, label_smoothing=label_smoothing
                )
            )
        if outlier_exposure > 0 and batch.oos.any():
            log_probs = nn.functional.log_softmax(out.intent_logits[batch.oos], dim=-1)
            # KL(uniform || p): the cross-entropy less its floor, log K, so the intent loss can
            # still fall to zero and learned uncertainty weights don't read the floor as noise.
            floor = math.log(log_probs.shape[-1])
            parts.append(outlier_exposure * (-log_probs.mean(-1) - floor).mean())
        if parts:
            losses["intent"] = torch.stack(parts).sum()
    if "slots" in tasks and (slot_tags != IGNORE).any():
        losses["slots"] = nn.functional.cross_entropy(
            out.slot_logits.flatten(0, 1), slot_tags.flatten(), ignore_index=IGNORE
        )
    if "sentiment" in tasks and (sentiment != IGNORE).any():
        losses["sentiment"] = nn.functional.cross_entropy(
            out.sentiment_logits, sentiment, ignore_index=IGNORE
        )
    return losses


def quick_validation(
    encoder: nn.Module,
    heads: NluHeads,
    examples: Sequence[Example],
    encoded: Sequence[Encoded],
    labels: Labels,
    tasks: Sequence[str],
    pad_id: int,
) -> dict[str, float]:
    """Per-task validation metrics for early stopping; ``score`` is their mean."""
    encoder.eval()
    heads.eval()
    out = run_model(own_pass(encoder), heads, encoded, 128, pad_id)
    encoder.train()
    heads.train()
    metrics: dict[str, float] = {}
    intent_rows = [i for i, e in enumerate(encoded) if e.intent != IGNORE]
    if "intent" in tasks and intent_rows:
        predicted = out.intent_logits[intent_rows].argmax(-1)
        gold = torch.tensor([encoded[i].intent for i in intent_rows])
        metrics["intent_accuracy"] = float((predicted == gold).float().mean())
    slot_rows = [i for i, e in enumerate(examples) if e.slots is not None]
    if "slots" in tasks and slot_rows:
        predicted_spans = [
            decode_slots(examples[i].text, encoded[i].offsets, out.slot_tags[i], labels)
            for i in slot_rows
        ]
        gold_spans = [examples[i].slots or () for i in slot_rows]
        metrics["slot_f1"] = span_f1(gold_spans, predicted_spans)["slot_f1"]
    sentiment_rows = [i for i, e in enumerate(encoded) if e.sentiment != IGNORE]
    if "sentiment" in tasks and sentiment_rows:
        predicted = out.sentiment_logits[sentiment_rows].argmax(-1)
        gold = torch.tensor([encoded[i].sentiment for i in sentiment_rows])
        metrics["sentiment_accuracy"] = float((predicted == gold).float().mean())
    metrics["score"] = float(np.mean(list(metrics.values()))) if metrics else 0.0
    return metrics


def imprint_intent_head(
    model: nn.Module, heads: NluHeads, items: Sequence[Encoded], pad_id: int, scale: float = 16.0
) -> None:
    """Intent weights = the normalised mean embedding of each intent's examples (before any
    training the LoRA update is zero, so these are the base encoder's embeddings)."""
    model.eval()
    out = run_model(own_pass(model), heads, items, 128, pad_id)
    model.train()
    rows = [i for i, item in enumerate(items) if item.intent != IGNORE]
    if not rows:
        return
    pooled = normalize_rows(out.pooled[rows])
    targets = torch.tensor([items[i].intent for i in rows])
    with torch.no_grad():
        for intent in sorted(set(targets.tolist())):
            centroid = pooled[targets == intent].mean(0)
            heads.intent.weight[intent] = scale * centroid / centroid.norm().clamp(min=1e-6)
        heads.intent.bias.zero_()


def trainable_state(model: nn.Module, heads: NluHeads) -> dict[str, Tensor]:
    state = {
        f"encoder.{k}": v.detach().clone() for k, v in model.named_parameters() if v.requires_grad
    }
    state.update({f"heads.{k}": v.detach().clone() for k, v in heads.state_dict().items()})
    return state


def restore_state(model: nn.Module, heads: NluHeads, state: dict[str, Tensor]) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for key, value in state.items():
            if key.startswith("encoder."):
                params[key.removeprefix("encoder.")].copy_(value)
    heads.load_state_dict(
        {k.removeprefix("heads."): v for k, v in state.items() if k.startswith("heads.")}
    )


def model_card(config: NluConfig, labels: Labels, data: NluData, result: TrainResult) -> str:
    stopped = (
        f"- Stopped: {result.stop_reason} after {result.steps} of {result.steps_planned} "
        f"planned steps ({result.epochs_completed:g} of {result.epochs_planned} epochs)."
    )
    if result.cut_by_time_limit:
        stopped += f" **Warning**: {result.budget()['warning']}."
    sources = ", ".join(f"{s.dataset} ({'/'.join(s.tasks)})" for s in config.sources)
    lines = [
        f"# NLU model card: {config.name}",
        "",
        f"- Trained: {datetime.now(UTC).isoformat(timespec='seconds')} in {result.seconds:.0f} s "
        "on CPU.",
        stopped,
        f"- Encoder: MiniLM ({config.model.encoder_path}), LoRA r={config.model.lora_r} on "
        f"{', '.join(config.model.target_modules)}"
        + (f" (bottom {frozen} layers frozen)" if (frozen := config.model.frozen_layers) else "")
        + f"; heads: intent ({len(labels.intents)} intents), "
        f"slots ({len(labels.slot_tags)} BIO tags), sentiment ({', '.join(labels.sentiments)}).",
        f"- Data: {sources}; {len(data.train)} training and {len(data.validation)} validation "
        "examples.",
        f"- Task weighting: {config.training.loss_weighting}. Out-of-scope: {config.oos.method} "
        "score, threshold chosen on validation.",
        "",
        "## Validation metrics",
        "",
        "```json",
        json.dumps(
            {k: v for k, v in result.validation.items() if not isinstance(v, dict)}, indent=1
        ),
        "```",
        "",
        "## Intended use and limits",
        "",
        "Routes customer messages of this workspace to its intents, flags messages outside",
        "them, tags slot values and estimates whether the customer is upset. It knows only the",
        "intents it was trained on, in English. The sentiment labels are weak (complaints and",
        "offensive wording count as negative): treat the sentiment as a hint for escalation.",
    ]
    return "\n".join(lines) + "\n"


def frozen_bottom(
    model: PeftModel, layers: int, items: Sequence[Encoded], pad_id: int
) -> Callable[[Batch], Tensor] | None:
    """With ``layers`` frozen: each example's states below the split, computed once here, and
    a function running a training batch through the layers above them (None: no split)."""
    if not layers:
        return None
    split = FrozenBottom(model, layers)
    cached: list[Tensor] = [torch.empty(0)] * len(items)
    for batch in batches(items, 128, pad_id):
        states = split.bottom(batch.input_ids, batch.attention_mask)
        for row, index in enumerate(batch.indices):
            cached[index] = states[row, : len(items[index].input_ids)].clone()

    def above(batch: Batch) -> Tensor:
        states = pad_sequence([cached[i] for i in batch.indices], batch_first=True)
        return split.top(states, batch.attention_mask)

    return above


class LinearSchedule:
    """Learning-rate factor: linear warm-up, then linear decay to zero over the planned steps.
    It depends on the step alone, never on the clock, so a config trains the same model on a
    fast machine and on a loaded one."""

    def __init__(self, total_steps: int, warmup_ratio: float):
        self.total_steps = max(1, total_steps)
        self.warmup = max(1, int(self.total_steps * warmup_ratio))

    def __call__(self, step: int) -> float:
        warm = self.warmup / self.total_steps
        decay = (1.0 - min(1.0, step / self.total_steps)) / max(1e-9, 1.0 - warm)
        return min(1.0, (step + 1) / self.warmup) * max(0.0, decay)


def train(
    config: NluConfig,
    *,
    data: NluData | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
) -> TrainResult:
    started = time.perf_counter()
    settings = config.training
    seed_everything(settings.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    data = data or load_mixture(config.sources, settings.seed, settings.validation_fraction)
    if not data.train:
        raise ValueError("there are no training examples")
    intents = {e.intent for e in data.train if e.intent}
    slots = {s.slot for e in data.train if e.slots for s in e.slots}
    tasks = tuple(
        t
        for t, present in (
            ("intent", bool(intents)),
            ("slots", any(e.slots is not None for e in data.train)),
            ("sentiment", any(e.sentiment for e in data.train)),
        )
        if present and t in config.tasks
    )
    if "intent" in tasks and len(intents) < 2:
        raise ValueError("intent training needs examples of at least two intents")
    labels = Labels.build(intents, slots)
    directory = out_dir or Path(config.output_dir) / config.name
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer = AutoTokenizer.from_pretrained(config.model.encoder_path)
    pad_id = int(tokenizer.pad_token_id)
    model = with_new_lora(load_base(config.model.encoder_path), config.model, ADAPTER)
    hidden = int(model.config.hidden_size)
    heads = NluHeads(hidden, labels, config.model.head_dropout)
    weighting = TaskWeighting(tasks, settings.loss_weighting)
    # Out-of-scope training examples teach only by outlier exposure; without it they are left out.
    trained = [e for e in data.train if settings.outlier_exposure > 0 or not e.is_oos]
    train_items = encode_examples(trained, tokenizer, labels, config.model.max_length)
    if config.model.head_init == "imprint" and "intent" in tasks:
        imprint_intent_head(model, heads, train_items, pad_id)
    validation = [e for e in data.validation if not e.is_oos]
    validation_items = encode_examples(validation, tokenizer, labels, config.model.max_length)

    above = frozen_bottom(model, config.model.frozen_layers, train_items, pad_id)
    lora_params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {
                "params": lora_params + list(heads.parameters()),
                "weight_decay": settings.weight_decay,
            },
            {"params": [weighting.log_vars], "weight_decay": 0.0, "lr": settings.weighting_lr},
        ],
        lr=settings.lr,
    )
    by_task = settings.batching == "by_task"
    steps_per_epoch = batch_count(train_items, settings.batch_size, by_task)
    epoch_steps = steps_per_epoch * settings.epochs
    planned_steps = min(epoch_steps, settings.max_steps) if settings.max_steps else epoch_steps
    # The safety net: it ends a run that its budget would keep going far too long (a machine
    # far slower than expected), and the run then says so (stop_reason "time_limit").
    deadline = started + settings.max_minutes * 60 if settings.max_minutes else math.inf
    schedule = LinearSchedule(planned_steps, settings.warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    rng = random.Random(settings.seed)
    eval_every = settings.eval_every or steps_per_epoch
    log_file = (directory / "training_log.csv").open("w", newline="")
    log = csv.writer(log_file)
    log.writerow(
        [
            "step",
            "epoch",
            "loss",
            *(f"{t}_loss" for t in tasks),
            *(f"{t}_weight" for t in tasks),
            "lr",
            "grad_norm",
        ]
    )
    validation_file = (directory / "validation_log.csv").open("w", newline="")
    validation_log = csv.writer(validation_file)
    validation_log.writerow(
        ["step", "epoch", "intent_accuracy", "slot_f1", "sentiment_accuracy", "score"]
    )

    best_score, best_state, best_metrics = -1.0, trainable_state(model, heads), {}
    stale, step, stop_reason = 0, 0, ""
    model.train()
    heads.train()
    bar = tqdm(total=planned_steps, desc=f"train {config.name}", disable=not progress, unit="step")
    for epoch in range(settings.epochs):
        epoch_losses: dict[str, list[float]] = {t: [] for t in tasks}
        for batch in batches(train_items, settings.batch_size, pad_id, rng, by_task=by_task):
            if above is None:
                states = encode(model, batch.input_ids, batch.attention_mask)
            else:
                states = above(batch)
            losses = task_losses(
                heads, states, batch, tasks, settings.label_smoothing, settings.outlier_exposure
            )
            if not losses:
                continue
            loss = weighting(losses)
            optimizer.zero_grad()
            loss.backward()
            grad_norm = float(
                torch.nn.utils.clip_grad_norm_(lora_params + list(heads.parameters()), 1.0)
            )
            optimizer.step()
            scheduler.step()
            step += 1
            weights = weighting.weights()
            for task, value in losses.items():
                epoch_losses[task].append(float(value.detach()))
            log.writerow(
                [step, epoch, round(float(loss.detach()), 5)]
                + [round(float(losses[t].detach()), 5) if t in losses else "" for t in tasks]
                + [round(weights[t], 4) for t in tasks]
                + [f"{scheduler.get_last_lr()[0]:.3g}", round(grad_norm, 4)]
            )
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}", epoch=epoch + 1)
            out_of_time = time.perf_counter() > deadline
            budget_spent = step >= planned_steps
            if step % eval_every == 0 or out_of_time or budget_spent:
                metrics = quick_validation(
                    model, heads, validation, validation_items, labels, tasks, pad_id
                )
                validation_log.writerow(
                    [
                        step,
                        epoch,
                        *(
                            round(metrics.get(k, float("nan")), 4)
                            for k in ("intent_accuracy", "slot_f1", "sentiment_accuracy", "score")
                        ),
                    ]
                )
                validation_file.flush()
                shown = {k: round(v, 4) for k, v in metrics.items()}
                if progress:
                    bar.write(f"step {step}: validation {json.dumps(shown)}")
                if metrics["score"] > best_score:
                    best_score, best_state, best_metrics, stale = (
                        metrics["score"],
                        trainable_state(model, heads),
                        metrics,
                        0,
                    )
                else:
                    stale += 1
                if stale >= settings.patience:
                    stop_reason = "patience"
                elif budget_spent:
                    stop_reason = "max_steps" if planned_steps < epoch_steps else "epochs_done"
                elif out_of_time:
                    stop_reason = "time_limit"
                if stop_reason:
                    break
        weighting.epoch_end({t: float(np.mean(v)) for t, v in epoch_losses.items() if v})
        if stop_reason:
            break
    bar.close()
    # Every epoch ran without reaching the planned steps: some batches had no label to learn.
    stop_reason = stop_reason or "epochs_done"
    epochs_completed = round(step / max(1, steps_per_epoch), 2)
    if stop_reason == "time_limit":
        warning = time_limit_warning(step, planned_steps, epochs_completed, settings.epochs)
        logger.warning("%s: %s", config.name, warning)
        if progress:
            bar.write(f"WARNING {config.name}: {warning}")
    log_file.close()
    validation_file.close()
    restore_state(model, heads, best_state)
    model.eval()
    heads.eval()

    # Calibration and out-of-scope threshold, on validation.
    # Out-of-scope examples that training didn't see all fit the threshold (a workspace's own
    # are few, and without outlier exposure the training split's would be left unused).
    oos_examples = [e for e in data.validation if e.is_oos]
    if settings.outlier_exposure <= 0:
        oos_examples += [e for e in data.train if e.is_oos]
    if config.oos.generic_negatives:
        oos_examples += [Example(text=text, is_oos=True) for text in generic_oos_queries()]
    oos_items = encode_examples(oos_examples, tokenizer, labels, config.model.max_length)
    oos = OosDetector(
        method=config.oos.method,
        k=config.oos.k,
        temperature=1.0,
        rule=config.oos.rule,
        inscope_keep=config.oos.inscope_keep,
        min_examples=config.oos.min_examples,
        max_flagged=config.oos.max_flagged,
        generic_negatives=config.oos.generic_negatives,
    )

    with_probe = config.model.base_probe and "intent" in tasks
    # From here on the passes are the serving ones (``fast.py``): the same numbers as the
    # runtime will compute, in less time.
    fast = FastEncoder(model.get_base_model())
    fast.pack()
    adapter = adapter_from_peft(model, ADAPTER, fast.hidden)

    def outputs(items: Sequence[Encoded]) -> Outputs:
        encoder = fast_pass(fast, adapter, with_base=oos.needs_base or with_probe)
        return run_model(encoder, heads, items, 128, pad_id)

    # Only the intent examples matter from here on (the slot and sentiment sources' rows would
    # be a third of the passes on the bank model, about 20 s on a slow CPU).
    bank_items = [e for e in train_items if e.intent != IGNORE]
    intent_items = [e for e in validation_items if e.intent != IGNORE]
    train_out, validation_out = outputs(bank_items), outputs(intent_items)
    oos_out = outputs(oos_items) if oos_items else None
    intent_rows = list(range(len(intent_items)))
    validation_intents = torch.tensor([e.intent for e in intent_items])
    bank_rows = list(range(len(bank_items)))
    probe = None
    if with_probe:
        assert train_out.base is not None
        assert validation_out.base is not None
        probe = IntentProbe.fit(
            train_out.base[bank_rows],
            torch.tensor([e.intent for e in bank_items]),
            len(labels.intents),
            validation_out.intent_logits[intent_rows],
            validation_out.base[intent_rows],
            validation_intents,
        )
        train_out, validation_out = train_out.with_probe(probe), validation_out.with_probe(probe)
        oos_out = oos_out.with_probe(probe) if oos_out is not None else None
    if "intent" in tasks:
        oos.temperature = temperature_fit(
            validation_out.intent_logits[intent_rows], validation_intents
        )
    space = train_out.oos_space(oos)
    oos.bank = normalize_rows(space[bank_rows]) if bank_rows else torch.empty(0, hidden)
    if oos.is_mixed:
        assert train_out.base is not None
        oos.bank_base = normalize_rows(train_out.base[bank_rows])
    if "intent" in tasks and intent_rows:
        if oos.method == "ensemble":
            oos.fit_standard(validation_out.oos_features(oos)[intent_rows])
        elif oos.method == "knn_mix":
            oos.fit_mix(
                validation_out.oos_features(oos)[intent_rows],
                oos_out.oos_features(oos) if oos_out is not None else np.zeros((0, 2), np.float32),
            )
        inscope = validation_out.oos_scores(oos)[intent_rows]
        outside = oos_out.oos_scores(oos) if oos_out is not None else np.zeros(0, np.float32)
        oos.fit(inscope, outside, target_recall=config.oos.target_recall)
    seconds = time.perf_counter() - started

    # The artifact.
    model.save_pretrained(str(directory / "adapter"), selected_adapters=[ADAPTER])
    save_file(
        {k: v.contiguous() for k, v in heads.state_dict().items()},
        str(directory / "heads.safetensors"),
    )
    banks = {"bank": oos.bank}
    if oos.bank_base is not None:
        banks["bank_base"] = oos.bank_base
    save_file({k: v.contiguous() for k, v in banks.items()}, str(directory / "bank.safetensors"))
    if probe is not None:
        probe.save(directory)
    (directory / "labels.json").write_text(json.dumps(labels.to_json(), indent=1) + "\n")
    (directory / OOS_FILE).write_text(json.dumps(oos.to_json()) + "\n")
    (directory / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    result = TrainResult(
        directory=directory,
        validation=best_metrics,
        seconds=seconds,
        steps=step,
        stop_reason=stop_reason,
        steps_planned=planned_steps,
        epochs_planned=settings.epochs,
        epochs_completed=epochs_completed,
    )
    meta = {
        "name": config.name,
        "tasks": list(tasks),
        "encoder_name": Path(config.model.encoder_path).name,
        "max_length": config.model.max_length,
        "train_examples": len(data.train),
        "validation_examples": len(data.validation),
        "train_seconds": round(seconds, 1),
        **result.budget(),
        "best_validation": best_metrics,
        # The base-space probe's share of the intent decision (0: the head alone).
        "intent_probe_mix": probe.mix if probe is not None else 0.0,
        "seed": settings.seed,
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (directory / "metrics.json").write_text(
        json.dumps({"validation": best_metrics}, indent=1) + "\n"
    )
    (directory / "MODEL_CARD.md").write_text(model_card(config, labels, data, result))
    manifest_write(directory)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, required=True, help="a YAML file in ml/configs/")
    parser.add_argument("--out", type=Path, help="artifact folder (default: output_dir/name)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    config = config_load(args.config)
    result = train(config, out_dir=args.out, progress=not args.quiet)
    print(
        json.dumps(
            {
                "artifact": str(result.directory),
                "seconds": round(result.seconds, 1),
                **result.budget(),
                "validation": result.validation,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
