"""Trains the small base model used when no real one is configured:
``python -m ml.generation.bootstrap [--config ml/configs/generation_base.yaml]``.

A byte-level BPE tokenizer (``tokenizers``) and a Llama-architecture causal LM of a few million
parameters, both trained from scratch on the training split of the shipped Bitext corpus
(question -> answer chats; with ``grounded_share``, some of them in the grounded-answer format:
passages in the prompt, the answer citing one or refusing), saved with ``save_pretrained``
(safetensors, float32, chat template included) so vLLM and transformers load the folder as
they would any Hugging Face model.

What it can do: produce fluent Bitext-style customer-service text in the chat format, which the
workspace LoRA adapters then teach to cite passages, refuse, summarise and rewrite. What it can't:
anything beyond that corpus (27 e-commerce intents, English only); it has no world knowledge,
no reasoning, and follows no instruction it wasn't fine-tuned on. It exists so that the pipeline
(training, serving, multi-LoRA, fallbacks) runs offline; on a GPU host configure a real model.
"""

import argparse
import csv
import json
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from tqdm import tqdm
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from ml.artifacts import manifest_write
from ml.generation.config import BaseModelConfig, MixtureConfig, base_config_load
from ml.generation.contracts import ChatMessage
from ml.generation.data.bitext import BitextRow, load_rows, split
from ml.generation.data.sft import PassagePool, answer_example
from ml.generation.lm import (
    BOS,
    CHAT_TEMPLATE,
    END,
    IGNORE,
    PAD,
    SPECIAL_TOKENS,
    chat_text,
    ids,
    seed_everything,
)


def tokenizer_train(texts: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=bpe, bos_token=BOS, eos_token=END, pad_token=PAD
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def chat_documents(rows: Sequence[BitextRow], grounded_share: float, seed: int) -> list[str]:
    """Each row as a chat in the template's format: a plain question and answer, or (for
    ``grounded_share`` of the rows) the grounded-answer task, with two passages from the other
    rows in the prompt and the answer citing the one it uses, or the refusal when neither
    answers. The base learns to read and cite passages; the workspace adapters refine it."""
    rng = random.Random(seed)
    mixture = MixtureConfig()
    pool = PassagePool(rows, mixture.passage_words)
    documents = []
    for row in rows:
        if rng.random() < grounded_share:
            refuse = rng.random() < mixture.refusal_fraction
            example = answer_example(row, pool, mixture, rng, refuse=refuse)
            documents.append(chat_text(example.messages, example.target))
        else:
            documents.append(chat_text([ChatMessage("user", row.question)], row.response))
    return documents


def pack(
    documents: Sequence[list[int]], seq_len: int, pad_id: int, open_blocks: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """Documents into blocks of ``seq_len`` tokens, each document whole inside one block (a
    grounded answer must see its passages), cut only if longer than a block; first fit over the
    last ``open_blocks`` blocks. Returns the blocks and their labels (padding: ignored)."""
    blocks: list[list[int]] = []
    for document in documents:
        document = document[:seq_len]
        for block in blocks[-open_blocks:]:
            if len(block) + len(document) <= seq_len:
                block.extend(document)
                break
        else:
            blocks.append(list(document))
    if not blocks:
        raise ValueError("the corpus is empty")
    inputs = torch.full((len(blocks), seq_len), pad_id, dtype=torch.long)
    labels = torch.full((len(blocks), seq_len), IGNORE, dtype=torch.long)
    for row, block in enumerate(blocks):
        inputs[row, : len(block)] = torch.tensor(block)
        labels[row, : len(block)] = torch.tensor(block)
    return inputs, labels


def bootstrap(
    config: BaseModelConfig, *, out_dir: Path | None = None, progress: bool = True
) -> Path:
    started = time.perf_counter()
    seed_everything(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    directory = out_dir or Path(config.output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    rows, _ = split(load_rows())  # the held-out 10 % never reaches the base model
    if config.rows_limit:
        rows = rows[: config.rows_limit]
    documents = chat_documents(rows, config.grounded_share, config.seed)
    tokenizer = tokenizer_train(documents, config.vocab_size)
    encoded = [ids(tokenizer, document) for document in documents]
    blocks, block_labels = pack(encoded, config.seq_len, int(tokenizer.pad_token_id))

    model_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=config.heads,
        max_position_embeddings=config.max_positions,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(model_config)  # type: ignore[no-untyped-call]
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            min(1.0, (step + 1) / config.warmup_steps)
            * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / config.steps))))
        ),
    )
    generator = torch.Generator().manual_seed(config.seed)
    deadline = started + config.max_minutes * 60 if config.max_minutes else math.inf
    log_file = (directory / "training_log.csv").open("w", newline="")
    log = csv.writer(log_file)
    log.writerow(["step", "loss", "lr", "grad_norm", "seconds"])
    model.train()
    bar = tqdm(total=config.steps, desc="bootstrap base", disable=not progress, unit="step")
    step, loss_value = 0, float("nan")
    while step < config.steps and time.perf_counter() < deadline:
        order = torch.randperm(len(blocks), generator=generator)
        for start in range(0, len(order), config.batch_size):
            picked = order[start : start + config.batch_size]
            loss = model(input_ids=blocks[picked], labels=block_labels[picked]).loss
            optimizer.zero_grad()
            loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
            optimizer.step()
            scheduler.step()
            step += 1
            loss_value = float(loss.detach())
            log.writerow(
                [
                    step,
                    round(loss_value, 5),
                    f"{scheduler.get_last_lr()[0]:.3g}",
                    round(grad_norm, 4),
                    round(time.perf_counter() - started, 1),
                ]
            )
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.3f}")
            if step >= config.steps or time.perf_counter() > deadline:
                break
    bar.close()
    log_file.close()

    model.eval()  # type: ignore[no-untyped-call]
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(str(directory), safe_serialization=True)
    tokenizer.save_pretrained(str(directory))
    seconds = time.perf_counter() - started
    meta = {
        "kind": "bootstrapped base (Llama architecture, trained from scratch)",
        "parameters": sum(p.numel() for p in model.parameters()),
        "corpus_rows": len(rows),
        "corpus_tokens": sum(len(e) for e in encoded),
        "grounded_share": config.grounded_share,
        "blocks": len(blocks),
        "block_fill": round(float((block_labels != IGNORE).float().mean()), 3),
        "steps": step,
        "tokens_seen": step * config.batch_size * config.seq_len,
        "final_loss": round(loss_value, 4),
        "train_seconds": round(seconds, 1),
        "config": config.__dict__,
    }
    (directory / "bootstrap_meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    (directory / "MODEL_CARD.md").write_text(model_card(meta))
    manifest_write(directory)
    return directory


def model_card(meta: dict[str, object]) -> str:
    return (
        "# Bootstrapped base model\n\n"
        f"A Llama-architecture causal LM with {meta['parameters']:,} parameters and a byte-level "
        f"BPE tokenizer, trained from scratch in {meta['train_seconds']} s on CPU on "
        f"{meta['corpus_rows']} question/answer chats of the shipped Bitext corpus "
        f"({meta['corpus_tokens']:,} tokens; final training loss {meta['final_loss']}); "
        f"a share of {meta['grounded_share']} of them are grounded-answer chats (two passages "
        "in the prompt, the answer citing one or saying it doesn't know).\n\n"
        "It writes Bitext-style customer-service answers in the chat format and nothing else: no "
        "world knowledge, no reasoning, English only, 27 e-commerce intents. It exists so the "
        "generation pipeline (LoRA fine-tuning, vLLM serving, fallbacks) runs offline with no "
        "model hub. Configure a real instruct model for production.\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, help="a YAML file (default: built-in defaults)")
    parser.add_argument("--out", type=Path, help="model folder (default: output_dir)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    config = base_config_load(args.config) if args.config else BaseModelConfig()
    directory = bootstrap(config, out_dir=args.out, progress=not args.quiet)
    print(json.loads((directory / "bootstrap_meta.json").read_text()))


if __name__ == "__main__":
    main()
