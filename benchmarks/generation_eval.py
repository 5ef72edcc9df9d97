"""Answer quality of a workspace generator adapter on the held-out 10 % of Bitext (the questions
and responses the base model and the adapter never saw):

- grounded answers: each question with two passages (one response of the same intent from the
  workspace's knowledge, one of another intent): ROUGE-L against the held-out response, the
  share of non-refusals that cite a shown passage (and only shown ones), false refusals;
- refusal: the same questions with the answering passage removed (two passages of other
  intents): the share answered with "I don't know";
- the other two tasks on the same rows: query rewrite (exact match and ROUGE-L against the
  standalone question) and handoff summary (ROUGE-L against the reference summary).

Rows, side by side on the same held-out questions and prompts (``--rows``):

- ``tiny``: the bootstrapped base + its adapter (``generation_shop.yaml``), keys ``bitext_*``;
- ``smollm2``: the extractive answer (the passage closest to the question, quoted and cited),
  SmolLM2-135M-Instruct zero-shot and SmolLM2 + the workspace adapter
  (``generation_smollm2.yaml``), keys ``extractive_*``, ``smollm2_zero_shot_*``, ``smollm2_*``;
  each also behind the answer gate (``*_gated_*``: the refusal where no passage is close enough
  to the question). The right passage rate: non-refusals that cite the passage that answers.

A run of one kind keeps the other kind's last measured values in the results file.

    flock /tmp/cs-heavy.lock python -m benchmarks.generation_eval --rows smollm2 --sample 120

Generation runs on the vLLM server (greedy), started here from the vLLM virtualenv.
"""

import argparse
import asyncio
import json
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

import httpx

from benchmarks.common import machine
from ml.generation.config import SftConfig, sft_config_load
from ml.generation.contracts import GenerationParams, SftExample
from ml.generation.data.bitext import BitextRow, load_rows, only_categories, split
from ml.generation.data.sft import PassagePool, answer_example, rewrite_example, summary_example
from ml.generation.gate import AnswerGate, GateDecision, threshold_fit
from ml.generation.lm import ids, render, tokenizer_load
from ml.generation.metrics import answer_scores, refusal_rate, rouge_l
from ml.generation.prompts import REFUSAL, citations, is_refusal
from ml.serving.fallback import extractive_answer
from ml.serving.vllm_client import BASE_MODEL_NAME, VllmEngine, VllmSettings
from ml.serving.vllm_server import ServerConfig, serving

RESULTS = Path(__file__).resolve().parent / "results"


async def generate_all(
    engine: VllmEngine,
    examples: list[SftExample],
    adapter: str | None,
    max_tokens: int,
    concurrency: int,
) -> list[str]:
    gate = asyncio.Semaphore(concurrency)
    params = GenerationParams(max_tokens=max_tokens)

    async def one(example: SftExample) -> str:
        async with gate:
            return "".join([d async for d in engine.stream_chat(example.messages, adapter, params)])

    return list(await asyncio.gather(*(one(e) for e in examples)))


async def gate_cited_all(
    url: str,
    model: str,
    prompts: list[list[int]],
    cited: list[str | None],
    max_tokens: int,
    concurrency: int,
) -> list[str]:
    """The answers when the gate decides and the model only writes: the refusal where the gate
    refuses, else the model's continuation of an answer that starts with the gate's citation
    ("[P2] "), from vLLM's completions endpoint (the chat prompt rendered here, as token ids)."""
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=900) as client:

        async def one(prompt: list[int], pid: str | None) -> str:
            if pid is None:
                return REFUSAL
            async with gate:
                response = await client.post(
                    f"{url}/v1/completions",
                    json={
                        "model": model,
                        "prompt": prompt,
                        "max_tokens": max_tokens,
                        "temperature": 0,
                    },
                )
                response.raise_for_status()
                return f"[{pid}] " + str(response.json()["choices"][0]["text"]).strip()

        return list(await asyncio.gather(*(one(p, c) for p, c in zip(prompts, cited, strict=True))))


def row_metrics(
    answers: list[str],
    refusals: list[str],
    rows: list[BitextRow],
    with_passage: list[SftExample],
) -> dict[str, float]:
    """The grounded-answer metrics of one row of the table (one system's answers)."""
    scores = answer_scores(answers, [r.response for r in rows], [e.passages for e in with_passage])
    answered = [(a, e) for a, e in zip(answers, with_passage, strict=True) if not is_refusal(a)]
    return {
        "rouge_l": scores["rouge_l"],
        "rouge_l_answered": scores["rouge_l_answered"],
        "citation_valid_rate": scores["citation_valid_rate"],
        # Of the answers that are not refusals, those that cite the passage that answers.
        "right_passage_rate": (
            fmean(e.meta["gold"] in citations(a) for a, e in answered) if answered else 0.0
        ),
        "false_refusal_rate": scores["refusal_rate"],
        "refusal_rate_without_passage": refusal_rate(refusals),
    }


def task_metrics(
    rewritten: list[str],
    rewrites: list[SftExample],
    summarised: list[str],
    summaries: list[SftExample],
) -> dict[str, float]:
    return {
        "rewrite_exact_match": fmean(
            a.strip() == e.target for a, e in zip(rewritten, rewrites, strict=True)
        ),
        "rewrite_rouge_l": fmean(
            rouge_l(a, e.target) for a, e in zip(rewritten, rewrites, strict=True)
        ),
        "summary_rouge_l": fmean(
            rouge_l(a, e.target) for a, e in zip(summarised, summaries, strict=True)
        ),
    }


@dataclass(frozen=True)
class HeldOut:
    """The held-out questions and the prompts every row of the table answers."""

    rows: list[BitextRow]
    with_passage: list[SftExample]
    without: list[SftExample]
    rewrites: list[SftExample]
    summaries: list[SftExample]


def held_out(config: SftConfig, sample: int) -> HeldOut:
    """The prompts are drawn for the whole held-out split first, so a sample (questions evenly
    spread over the split, so over the intents) answers exactly the prompts the full run does."""
    train, test = split(load_rows())
    categories = [c for s in config.sources for c in s.categories]
    train, test = only_categories(train, categories), only_categories(test, categories)
    pool = PassagePool(train, config.mixture.passage_words)
    rng = random.Random(2024)  # noqa: S311 (a fixed draw of passages, not a secret)
    mixture = config.mixture
    with_passage = [answer_example(r, pool, mixture, rng, refuse=False) for r in test]
    without = [answer_example(r, pool, mixture, rng, refuse=True) for r in test]
    # Drawn in the order the tiny base's row draws them: the same prompts for every row.
    rewrites = {i: rewrite_example(r, rng) for i, r in enumerate(test) if r.entity_text}
    summaries = [summary_example(r, rng) for r in test]
    count = min(sample, len(test)) if sample else len(test)
    keep = [i * len(test) // count for i in range(count)]  # evenly spread over the intents
    return HeldOut(
        rows=[test[i] for i in keep],
        with_passage=[with_passage[i] for i in keep],
        without=[without[i] for i in keep],
        rewrites=[rewrites[i] for i in keep if i in rewrites],
        summaries=[summaries[i] for i in keep],
    )


def gate_fitted(config: SftConfig, questions: int = 300) -> AnswerGate:
    """The answer gate with its threshold fitted on questions of the training split (with and
    without their answering passage), never on the held-out ones."""
    train, _ = split(load_rows())
    pool = PassagePool(train, config.mixture.passage_words)
    rng = random.Random(7)  # noqa: S311
    picked = rng.sample(train, questions)
    gate = AnswerGate(threshold=0.0)
    tops = []
    for refuse in (False, True):
        shown = [
            answer_example(r, pool, config.mixture, rng, refuse=refuse).passages for r in picked
        ]
        tops.append([max(s) for s in gate.scores([r.question for r in picked], shown)])
    gate.threshold = threshold_fit(tops[0], tops[1])
    return gate


def gated(answers: list[str], decisions: list[GateDecision]) -> list[str]:
    return [a if d.best else REFUSAL for a, d in zip(answers, decisions, strict=True)]


def extractive_rows(data: HeldOut, gate: AnswerGate) -> dict[str, dict[str, float]]:
    """The extractive answer: the passage closest to the question (the retrieval's own rank),
    quoted and cited; gated, the refusal below the gate's threshold."""

    def ranked(examples: list[SftExample]) -> tuple[list[str], list[GateDecision]]:
        questions = [r.question for r in data.rows]
        scores = gate.scores(questions, [e.passages for e in examples])
        answers = [
            extractive_answer(sorted(e.passages, key=lambda p: -s[int(p.pid[1:]) - 1]))
            for e, s in zip(examples, scores, strict=True)
        ]
        return answers, gate.decide(questions, [e.passages for e in examples])

    answers, decisions = ranked(data.with_passage)
    refusals, refusal_decisions = ranked(data.without)
    return {
        "extractive": row_metrics(answers, refusals, data.rows, data.with_passage),
        "extractive_gated": row_metrics(
            gated(answers, decisions),
            gated(refusals, refusal_decisions),
            data.rows,
            data.with_passage,
        ),
    }


@dataclass(frozen=True)
class Generated:
    metrics: dict[str, float]
    answers: list[str]
    refusals: list[str]


async def model_rows(
    args: argparse.Namespace,
    config: SftConfig,
    data: HeldOut,
    adapters: dict[str, str | None],
    gate_decisions: dict[str, list[GateDecision]],
) -> dict[str, Generated]:
    """Each named adapter (None: the base alone) on one vLLM server of ``config``'s base: the
    model's own answers, and (``<prefix>_gate_cited``) the answers whose refusal and citation
    the gate decides."""
    out: dict[str, Generated] = {}
    tokenizer = tokenizer_load(config.base_path)
    cited: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        server = ServerConfig(
            base=Path(config.base_path), adapters_dir=Path(args.adapters), port=args.port
        )
        with serving(server, Path(scratch) / "vllm.log") as url:
            engine = VllmEngine(
                VllmSettings(base_url=url, first_token_timeout=600, token_timeout=120)
            )
            for prefix, adapter in adapters.items():
                started = time.perf_counter()
                answers = await generate_all(
                    engine, data.with_passage, adapter, 256, args.concurrency
                )
                refusals = await generate_all(engine, data.without, adapter, 64, args.concurrency)
                rewritten = await generate_all(engine, data.rewrites, adapter, 64, args.concurrency)
                summarised = await generate_all(
                    engine, data.summaries, adapter, 96, args.concurrency
                )
                metrics = {
                    **row_metrics(answers, refusals, data.rows, data.with_passage),
                    **task_metrics(rewritten, data.rewrites, summarised, data.summaries),
                    "generation_seconds": round(time.perf_counter() - started, 1),
                }
                out[prefix] = Generated(metrics, answers, refusals)
                model = adapter or BASE_MODEL_NAME
                for name, examples, tokens in (
                    ("answers", data.with_passage, 256),
                    ("refusals", data.without, 64),
                ):
                    decisions = gate_decisions[name]
                    prompts = [
                        ids(tokenizer, render(tokenizer, e.messages) + f"[{d.best}] ")
                        if d.best
                        else []
                        for e, d in zip(examples, decisions, strict=True)
                    ]
                    cited[name] = await gate_cited_all(
                        url, model, prompts, [d.best for d in decisions], tokens, args.concurrency
                    )
                out[f"{prefix}_gate_cited"] = Generated(
                    row_metrics(cited["answers"], cited["refusals"], data.rows, data.with_passage),
                    cited["answers"],
                    cited["refusals"],
                )
    return out


async def run_smollm2(args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The rows of the real base: extractive (with and without the gate), SmolLM2 zero-shot,
    SmolLM2 + the workspace adapter (its own decision, and behind the gate)."""
    shop = sft_config_load(Path(args.config))
    config = sft_config_load(Path(args.smollm2_config))
    if config.mixture != shop.mixture or config.sources != shop.sources:
        raise ValueError("the rows must answer the same prompts: same sources and mixture")
    data = held_out(config, args.sample)
    gate = gate_fitted(config)
    questions = [r.question for r in data.rows]
    decisions = gate.decide(questions, [e.passages for e in data.with_passage])
    refusal_decisions = gate.decide(questions, [e.passages for e in data.without])
    rows: dict[str, Any] = extractive_rows(data, gate)
    generated = await model_rows(
        args,
        config,
        data,
        {"smollm2_zero_shot": None, "smollm2": config.name},
        {"answers": decisions, "refusals": refusal_decisions},
    )
    for prefix, result in generated.items():
        rows[prefix] = result.metrics
        if prefix.endswith("_gate_cited"):
            continue
        rows[f"{prefix}_gated"] = row_metrics(
            gated(result.answers, decisions),
            gated(result.refusals, refusal_decisions),
            data.rows,
            data.with_passage,
        )
    rows["gate"] = {"threshold": gate.threshold, "questions": len(data.rows)}
    step = max(1, len(data.rows) // 8)
    samples = [
        {
            "question": r.question,
            "gold": e.meta["gold"],
            "reference": r.response[:300],
            "zero_shot": z[:300],
            "adapter": a[:300],
            "adapter_gate_cited": c[:300],
            "without_passage": n[:200],
        }
        for r, e, z, a, c, n in list(
            zip(
                data.rows,
                data.with_passage,
                generated["smollm2_zero_shot"].answers,
                generated["smollm2"].answers,
                generated["smollm2_gate_cited"].answers,
                generated["smollm2"].refusals,
                strict=True,
            )
        )[::step]
    ]
    return rows, samples


async def run_tiny(args: argparse.Namespace) -> dict[str, Any]:
    config = sft_config_load(Path(args.config))
    train, test = split(load_rows())
    categories = [c for s in config.sources for c in s.categories]
    train, test = only_categories(train, categories), only_categories(test, categories)
    if args.limit:
        test = test[: args.limit]
    pool = PassagePool(train, config.mixture.passage_words)
    rng = random.Random(2024)  # noqa: S311 (a fixed draw of passages, not a secret)
    mixture = config.mixture
    with_passage = [answer_example(r, pool, mixture, rng, refuse=False) for r in test]
    without = [answer_example(r, pool, mixture, rng, refuse=True) for r in test]
    rewrites = [rewrite_example(r, rng) for r in test if r.entity_text]
    summaries = [summary_example(r, rng) for r in test]

    adapters_dir = Path(args.adapters)
    with tempfile.TemporaryDirectory() as scratch:
        server = ServerConfig(
            base=Path(config.base_path), adapters_dir=adapters_dir, port=args.port
        )
        with serving(server, Path(scratch) / "vllm.log") as url:
            engine = VllmEngine(
                VllmSettings(base_url=url, first_token_timeout=600, token_timeout=120)
            )
            started = time.perf_counter()
            answers = await generate_all(engine, with_passage, config.name, 256, args.concurrency)
            refusals = await generate_all(engine, without, config.name, 64, args.concurrency)
            rewritten = await generate_all(engine, rewrites, config.name, 64, args.concurrency)
            summarised = await generate_all(engine, summaries, config.name, 96, args.concurrency)
            seconds = time.perf_counter() - started
    scores = answer_scores(answers, [r.response for r in test], [e.passages for e in with_passage])
    samples = [
        {
            "question": r.question,
            "reference": r.response[:300],
            "answer": a[:300],
            "without_passage": n,
        }
        for r, a, n in list(zip(test, answers, refusals, strict=True))[:: max(1, len(test) // 8)]
    ]
    return {
        "questions": len(test),
        "rouge_l": scores["rouge_l"],
        "rouge_l_answered": scores["rouge_l_answered"],
        "citation_valid_rate": scores["citation_valid_rate"],
        "false_refusal_rate": scores["refusal_rate"],
        "refusal_rate_without_passage": refusal_rate(refusals),
        "rewrite_exact_match": fmean(
            a.strip() == e.target for a, e in zip(rewritten, rewrites, strict=True)
        ),
        "rewrite_rouge_l": fmean(
            rouge_l(a, e.target) for a, e in zip(rewritten, rewrites, strict=True)
        ),
        "summary_rouge_l": fmean(
            rouge_l(a, e.target) for a, e in zip(summarised, summaries, strict=True)
        ),
        "generation_seconds": round(seconds, 1),
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="ml/configs/generation_shop.yaml")
    parser.add_argument("--smollm2-config", default="ml/configs/generation_smollm2.yaml")
    parser.add_argument(
        "--rows",
        default="smollm2",
        choices=["tiny", "smollm2"],
        help="tiny: the bootstrapped base + adapter (bitext_*); smollm2: extractive, SmolLM2 "
        "zero-shot and + adapter; the other rows keep their last measured values",
    )
    parser.add_argument("--adapters", default="var/models/generation/adapters")
    parser.add_argument("--limit", type=int, default=0, help="tiny: the first n test questions")
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="smollm2: this many held-out questions, evenly spread (0: all)",
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--port", type=int, default=8918)
    args = parser.parse_args()
    path = RESULTS / "generation_eval.json"
    result: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    command = "python -m benchmarks.generation_eval " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
    )
    result.update({"name": "generation_eval", "machine": machine()})
    metrics: dict[str, Any] = result.setdefault("metrics", {})
    if args.rows == "tiny":
        raw = asyncio.run(run_tiny(args))
        config = sft_config_load(Path(args.config))
        adapter_dir = Path(args.adapters) / config.name
        base_meta = Path(config.base_path) / "bootstrap_meta.json"
        result.update(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": command,
                "model": {
                    "base": json.loads(base_meta.read_text())
                    if base_meta.is_file()
                    else config.base_path,
                    "adapter": json.loads((adapter_dir / "meta.json").read_text()),
                },
                "setup": (
                    "held-out 10 % of Bitext (fixed stratified split by intent); greedy decoding "
                    "on the vLLM server; two passages per question cut to the adapter's "
                    "passage_words; the reference is the held-out row's own full response"
                ),
                "samples": raw.pop("samples"),
            }
        )
        metrics.update(
            {f"bitext_{k}": (round(v, 4) if isinstance(v, float) else v) for k, v in raw.items()}
        )
    else:
        rows, samples = asyncio.run(run_smollm2(args))
        config = sft_config_load(Path(args.smollm2_config))
        gate = rows.pop("gate")
        result["smollm2"] = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            "base": json.loads((Path(config.base_path) / "source.json").read_text()),
            "adapter": json.loads((Path(args.adapters) / config.name / "meta.json").read_text()),
            "gate": gate,
            "setup": (
                f"{gate['questions']} held-out Bitext questions (evenly spread over the 453, the "
                "same prompts as the full run); greedy decoding on the vLLM server; extractive: "
                "the passage closest to the question (MiniLM cosine) quoted and cited; *_gated: "
                "the refusal wherever no passage reaches the gate's threshold (MiniLM cosine, "
                "fitted on 300 training-split questions with and without their passage); "
                "*_gate_cited: the gate refuses or picks the passage, the model writes the "
                "answer after that "
                "citation (vLLM completions from the rendered prompt + '[Pn] ')"
            ),
            "samples": samples,
        }
        for prefix, values in rows.items():
            metrics.update(
                {
                    f"{prefix}_{k}": (round(v, 4) if isinstance(v, float) else v)
                    for k, v in values.items()
                }
            )
        metrics["smollm2_questions"] = gate["questions"]
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
