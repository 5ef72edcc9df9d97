"""Fine-tunes one workspace's generator adapter:
``python -m ml.generation.train --config ml/configs/generation_<name>.yaml``.

A LoRA adapter (peft) on the base model, trained on the multi-task mixture (grounded answers
with citations or refusals, handoff summaries, query rewrites) with the loss on the answer tokens
only. Writes an artifact folder: the adapter (loadable by peft and by vLLM's ``--lora-modules``),
config, training and validation logs as CSV, metrics, a model card and a SHA-256 manifest.
"""

import argparse
import csv
import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import yaml
from peft import LoraConfig as PeftLoraConfig
from peft import PeftModel, get_peft_model
from tqdm import tqdm
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from ml.artifacts import manifest_verify, manifest_write
from ml.generation.config import SftConfig, sft_config_load
from ml.generation.contracts import SftExample
from ml.generation.data.bitext import BitextRow, load_rows, only_categories, split
from ml.generation.data.records import load_records
from ml.generation.data.sft import PassagePool, answer_example, build_mixture
from ml.generation.lm import (
    EncodedExample,
    encode_example,
    ids,
    pad_batch,
    render,
    seed_everything,
    tokenizer_load,
    weighted_loss,
)
from ml.generation.metrics import answer_scores, refusal_rate

REBUILD_BASE = "rebuild it with `python -m ml.generation.bootstrap`"


@dataclass(frozen=True)
class TrainResult:
    directory: Path
    metrics: dict[str, Any]
    seconds: float
    steps: int


def base_load(path: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    folder = Path(path)
    if (folder / "manifest.json").is_file():
        manifest_verify(folder, REBUILD_BASE)
    tokenizer = tokenizer_load(folder)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    return model, tokenizer


def workspace_rows(config: SftConfig) -> tuple[list[BitextRow], list[BitextRow]]:
    """(train, test) rows of the workspace's sources; test is the Bitext corpus's fixed held-out
    split (a workspace's own records all train: ``train`` keeps a validation share of them)."""
    train: list[BitextRow] = []
    test: list[BitextRow] = []
    for source in config.sources:
        if source.dataset == "records":
            records = load_records(Path(source.path))
            train.extend(records[: source.limit] if source.limit else records)
            continue
        source_train, source_test = split(load_rows())
        kept = only_categories(source_train, source.categories)
        random.Random(len(kept)).shuffle(kept)  # a limit keeps a spread of intents
        train.extend(kept[: source.limit] if source.limit else kept)
        test.extend(only_categories(source_test, source.categories))
    return train, test


@torch.no_grad()
def generate(
    model: PreTrainedModel | PeftModel,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[SftExample],
    max_new_tokens: int,
    batch_size: int = 16,
) -> list[str]:
    """Greedy answers in batches (left padding), for validation."""
    outputs: list[str] = []
    pad_id = int(tokenizer.pad_token_id)
    for start in range(0, len(examples), batch_size):
        prompts = [
            ids(tokenizer, render(tokenizer, e.messages))
            for e in examples[start : start + batch_size]
        ]
        width = max(len(p) for p in prompts)
        input_ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        out = model.generate(  # type: ignore[operator]
            input_ids=input_ids,
            attention_mask=mask,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=pad_id,
        )
        outputs.extend(
            str(tokenizer.decode(row[width:], skip_special_tokens=True)).strip() for row in out
        )
    return outputs


def validation_answers(
    rows: Sequence[BitextRow], pool: PassagePool, config: SftConfig, rng: random.Random
) -> tuple[list[SftExample], list[SftExample]]:
    """The same questions with the answering passage, and with it removed."""
    with_gold = [answer_example(r, pool, config.mixture, rng, refuse=False) for r in rows]
    without = [answer_example(r, pool, config.mixture, rng, refuse=True) for r in rows]
    return with_gold, without


def validation_loss(
    model: PeftModel, items: Sequence[EncodedExample], batch_size: int, pad_id: int
) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(items), batch_size):
            batch = pad_batch(items[start : start + batch_size], pad_id)
            loss = model(input_ids=batch.input_ids, attention_mask=batch.mask, labels=batch.labels)
            total += float(loss.loss) * len(batch.input_ids)
            count += len(batch.input_ids)
    model.train()
    return total / max(1, count)


def train(config: SftConfig, *, out_dir: Path | None = None, progress: bool = True) -> TrainResult:
    started = time.perf_counter()
    settings = config.training
    seed_everything(settings.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    rng = random.Random(settings.seed)
    directory = out_dir or Path(config.output_dir) / config.name
    directory.mkdir(parents=True, exist_ok=True)

    rows, _ = workspace_rows(config)
    if len({r.intent for r in rows}) < 2:
        raise ValueError("the workspace's knowledge needs at least two intents (or articles)")
    rng.shuffle(rows)
    # A tenth of the rows at most (a small knowledge base keeps most of its rows for training).
    n_validation = min(max(1, len(rows) // 10), settings.eval_examples or 8)
    validation_rows, train_rows = rows[:n_validation], rows[n_validation:]
    pool = PassagePool(train_rows, config.mixture.passage_words)
    examples = build_mixture(train_rows, pool, config.mixture, rng)
    validation_examples = build_mixture(validation_rows, pool, config.mixture, rng)

    base, tokenizer = base_load(config.base_path)
    pad_id = int(tokenizer.pad_token_id)
    model = get_peft_model(
        base,
        PeftLoraConfig(
            r=config.lora.r,
            lora_alpha=config.lora.alpha,
            lora_dropout=config.lora.dropout,
            target_modules=list(config.lora.target_modules),
            layers_to_transform=list(config.lora.layers) or None,
            task_type="CAUSAL_LM",
        ),
    )
    items = [encode_example(tokenizer, e, settings.max_length) for e in examples]
    validation_items = [
        encode_example(tokenizer, e, settings.max_length) for e in validation_examples
    ]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(items) / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    if settings.max_steps:
        total = min(total, settings.max_steps)
    warmup = max(1, int(total * settings.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            min(1.0, (step + 1) / warmup) * max(0.05, (total - step) / max(1, total - warmup))
        ),
    )
    deadline = started + settings.max_minutes * 60 if settings.max_minutes else math.inf
    log_file = (directory / "training_log.csv").open("w", newline="")
    log = csv.writer(log_file)
    log.writerow(["step", "epoch", "loss", "lr", "grad_norm", "tokens"])
    validation_file = (directory / "validation_log.csv").open("w", newline="")
    validation_log = csv.writer(validation_file)
    validation_log.writerow(["step", "validation_loss"])

    model.train()
    step, epoch = 0, 0
    bar = tqdm(total=total, desc=f"lora {config.name}", disable=not progress, unit="step")
    # Batches of similar length waste less compute on padding.
    while step < total and time.perf_counter() < deadline:
        order = list(range(len(items)))
        rng.shuffle(order)
        chunks = [
            order[i : i + settings.batch_size * 8]
            for i in range(0, len(order), settings.batch_size * 8)
        ]
        batches: list[list[int]] = []
        for chunk in chunks:
            chunk.sort(key=lambda i: len(items[i].input_ids))
            batches.extend(
                chunk[i : i + settings.batch_size]
                for i in range(0, len(chunk), settings.batch_size)
            )
        rng.shuffle(batches)
        for batch_ids in batches:
            batch = pad_batch([items[i] for i in batch_ids], pad_id, settings.decision_weight)
            logits = model(input_ids=batch.input_ids, attention_mask=batch.mask).logits
            loss = weighted_loss(logits, batch)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
            optimizer.step()
            scheduler.step()
            step += 1
            log.writerow(
                [
                    step,
                    epoch,
                    round(float(loss.detach()), 5),
                    f"{scheduler.get_last_lr()[0]:.3g}",
                    round(grad_norm, 4),
                    int(batch.mask.sum()),
                ]
            )
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}", epoch=epoch + 1)
            if step >= total or time.perf_counter() > deadline:
                break
        epoch += 1
        loss_now = validation_loss(model, validation_items, settings.batch_size, pad_id)
        validation_log.writerow([step, round(loss_now, 5)])
        validation_file.flush()
        bar.write(f"step {step}: validation loss {loss_now:.4f}")
    bar.close()
    log_file.close()
    validation_file.close()
    model.eval()

    with_gold, without = validation_answers(validation_rows, pool, config, rng)
    answers = generate(model, tokenizer, with_gold, max_new_tokens=160)
    refusals = generate(model, tokenizer, without, max_new_tokens=40)
    scores = answer_scores(
        answers,
        [r.response for r in validation_rows],
        [e.passages for e in with_gold],
    )
    metrics: dict[str, Any] = {
        "validation_loss": round(
            validation_loss(model, validation_items, settings.batch_size, pad_id), 4
        ),
        "validation_rouge_l": round(scores["rouge_l"], 4),
        "validation_citation_valid_rate": round(scores["citation_valid_rate"], 4),
        "validation_false_refusal_rate": round(scores["refusal_rate"], 4),
        "validation_refusal_rate_without_answer": round(refusal_rate(refusals), 4),
        "validation_questions": len(validation_rows),
    }
    seconds = time.perf_counter() - started

    model.save_pretrained(str(directory / "adapter"))
    (directory / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    meta = {
        "name": config.name,
        "base": str(Path(config.base_path).resolve()),
        "train_examples": len(examples),
        "tasks": {t: sum(e.task == t for e in examples) for t in ("answer", "summary", "rewrite")},
        "steps": step,
        "train_seconds": round(seconds, 1),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": settings.seed,
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    (directory / "samples.json").write_text(
        json.dumps(
            [
                {"question": r.question, "answer": a, "without_passage": n}
                for r, a, n in zip(validation_rows[:10], answers, refusals, strict=False)
            ],
            indent=1,
        )
        + "\n"
    )
    (directory / "MODEL_CARD.md").write_text(model_card(config, meta, metrics))
    manifest_write(directory)
    return TrainResult(directory, metrics, seconds, step)


def model_card(config: SftConfig, meta: dict[str, Any], metrics: dict[str, Any]) -> str:
    return (
        "\n".join(
            [
                f"# Generator adapter: {config.name}",
                "",
                f"- Trained {meta['trained_at']} in {meta['train_seconds']} s on CPU: LoRA r="
                f"{config.lora.r} on {', '.join(config.lora.target_modules)} of {meta['base']}.",
                f"- Tasks: {json.dumps(meta['tasks'])} examples (grounded answer with citations or "
                "refusal, handoff summary, query rewrite); loss on the answer tokens only.",
                "",
                "## Validation",
                "",
                "```json",
                json.dumps(metrics, indent=1),
                "```",
                "",
                "## Intended use and limits",
                "",
                "Drafts answers from the passages retrieval found, cites them as [P1], [P2]...,",
                "and says it doesn't know when they don't answer. Output is only as good as the",
                "base model: with the bootstrapped base it writes Bitext-style answers and can be",
                "wrong; the output guard and the citations are the checks, not the model.",
            ]
        )
        + "\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, required=True, help="a YAML file in ml/configs/")
    parser.add_argument("--out", type=Path, help="artifact folder (default: output_dir/name)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    result = train(sft_config_load(args.config), out_dir=args.out, progress=not args.quiet)
    print(
        json.dumps(
            {"artifact": str(result.directory), "steps": result.steps, **result.metrics}, indent=1
        )
    )


if __name__ == "__main__":
    main()
