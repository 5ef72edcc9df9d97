"""Answer quality of a workspace generator adapter on the held-out 10 % of Bitext (the questions
and responses the base model and the adapter never saw):

- grounded answers: each question with two passages (one response of the same intent from the
  workspace's knowledge, one of another intent): ROUGE-L against the held-out response, the
  share of non-refusals that cite a shown passage (and only shown ones), false refusals;
- refusal: the same questions with the answering passage removed (two passages of other
  intents): the share answered with "I don't know";
- the other two tasks on the same rows: query rewrite (exact match and ROUGE-L against the
  standalone question) and handoff summary (ROUGE-L against the reference summary).

    flock /tmp/cs-heavy.lock python -m benchmarks.generation_eval

Generation runs on the vLLM server (greedy), started here from the vLLM virtualenv.
"""

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

from benchmarks.common import machine
from ml.generation.config import sft_config_load
from ml.generation.contracts import GenerationParams, SftExample
from ml.generation.data.bitext import load_rows, only_categories, split
from ml.generation.data.sft import PassagePool, answer_example, rewrite_example, summary_example
from ml.generation.metrics import answer_scores, refusal_rate, rouge_l
from ml.serving.vllm_client import VllmEngine, VllmSettings
from ml.serving.vllm_server import ServerConfig, serving

RESULTS = Path(__file__).resolve().parent / "results"


async def generate_all(
    engine: VllmEngine, examples: list[SftExample], adapter: str, max_tokens: int, concurrency: int
) -> list[str]:
    gate = asyncio.Semaphore(concurrency)
    params = GenerationParams(max_tokens=max_tokens)

    async def one(example: SftExample) -> str:
        async with gate:
            return "".join([d async for d in engine.stream_chat(example.messages, adapter, params)])

    return list(await asyncio.gather(*(one(e) for e in examples)))


async def run(args: argparse.Namespace) -> dict[str, Any]:
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
    parser.add_argument("--adapters", default="var/models/generation/adapters")
    parser.add_argument("--limit", type=int, default=0, help="at most this many test questions")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--port", type=int, default=8918)
    args = parser.parse_args()
    raw = asyncio.run(run(args))
    config = sft_config_load(Path(args.config))
    adapter_dir = Path(args.adapters) / config.name
    base_meta = Path(config.base_path) / "bootstrap_meta.json"
    result = {
        "name": "generation_eval",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.generation_eval "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "machine": machine(),
        "model": {
            "base": json.loads(base_meta.read_text()) if base_meta.is_file() else config.base_path,
            "adapter": json.loads((adapter_dir / "meta.json").read_text()),
        },
        "setup": (
            "held-out 10 % of Bitext (fixed stratified split by intent); greedy decoding on the "
            "vLLM server; two passages per question cut to the adapter's passage_words; the "
            "reference is the held-out row's own full response"
        ),
        "samples": raw.pop("samples"),
        "metrics": {
            f"bitext_{k}": (round(v, 4) if isinstance(v, float) else v) for k, v in raw.items()
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generation_eval.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["metrics"], indent=1))


if __name__ == "__main__":
    main()
