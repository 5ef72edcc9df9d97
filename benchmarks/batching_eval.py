"""Cross-turn dynamic batching against none, at 1, 20 and 200 concurrent customers.

    .venv/bin/python -m benchmarks.batching_eval [--artifact PATH] [--turns 600]
        [--customers 1 20 200] [--threads 6] [--wait-ms 4]

What a web process does for each knowledge turn's understanding: the workspace's NLU model
reads the message (its LoRA adapter on the shared MiniLM encoder) and the sentence encoder embeds
it for retrieval. Customers (closed loop: the next message when the last is answered, the shop
conversations' lines) hand their turns to a pool of ``--threads`` threads, as the server hands
them to its thread pool (``ASYNC_THREADS``, 16).
Each setting runs with batching (``ml/serving/batching.py``, as the server sets it up) and
without, in the same process, alternately. Reports turns per second, per-turn latency p50 / p95
and the mean batch size. The NLU model is the demo shop's (``--artifact``, default: the newest
under var/bench-bot-built or var/models). Writes ``benchmarks/results/batching.json``.
"""

import argparse
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import machine, percentile
from ml.nlu.runtime import NluModel, NluRuntime
from ml.retrieval.encoder import DenseEncoder
from ml.serving.batching import MicroBatcher

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CONVERSATIONS = ROOT / "benchmarks" / "data" / "conversations" / "shop.json"


def _newest_artifact() -> Path:
    candidates = [
        manifest.parent
        for base in (ROOT / "var" / "bench-bot-built" / "models", ROOT / "var" / "models")
        for manifest in base.glob("nlu/**/manifest.json")
    ]
    if not candidates:
        raise SystemExit("no NLU model found: run `make demo` once, or pass --artifact")
    return max(candidates, key=lambda path: path.stat().st_mtime)


def _texts() -> list[str]:
    conversations = json.loads(CONVERSATIONS.read_text())["conversations"]
    return [step["say"] for c in conversations for step in c["steps"] if "say" in step]


def _setting(
    model: NluModel,
    encoder: DenseEncoder,
    texts: list[str],
    customers: int,
    turns: int,
    threads: int,
) -> dict[str, Any]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_customer = max(1, turns // customers)

    def turn(text: str) -> None:
        model.predict([text])
        encoder.encode([text])

    def customer(index: int, pool: ThreadPoolExecutor) -> None:
        for step in range(per_customer):
            text = texts[(index * 7 + step) % len(texts)]
            started = time.perf_counter()
            pool.submit(turn, text).result()
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    with ThreadPoolExecutor(threads) as pool:
        began = time.perf_counter()
        clients = [threading.Thread(target=customer, args=(i, pool)) for i in range(customers)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        elapsed = time.perf_counter() - began
    return {
        "turns": len(latencies),
        "turns_per_s": round(len(latencies) / elapsed, 2),
        "latency_p50_ms": percentile(latencies, 0.50, digits=1),
        "latency_p95_ms": percentile(latencies, 0.95, digits=1),
        "latency_mean_ms": round(statistics.fmean(latencies), 1),
    }


def _batching(model: NluModel, encoder: DenseEncoder, on: bool, wait_ms: float) -> None:
    if on:
        model.batch_across_callers(max_batch=32, max_wait_s=wait_ms / 1000)
        encoder.batch_across_callers(max_batch=32, max_wait_s=wait_ms / 1000)
    else:
        model.batcher = None
        encoder.batcher = None


def _mean_batch(*batchers: MicroBatcher[Any, Any] | None) -> float:
    batches = sum(b.stats.batches for b in batchers if b is not None)
    items = sum(b.stats.items for b in batchers if b is not None)
    return round(items / batches, 2) if batches else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", type=Path)
    parser.add_argument("--turns", type=int, default=600, help="turns per setting")
    parser.add_argument("--customers", type=int, nargs="+", default=[1, 20, 200])
    parser.add_argument("--threads", type=int, default=16, help="the server's ASYNC_THREADS")
    parser.add_argument("--wait-ms", type=float, default=4.0)
    args = parser.parse_args()
    artifact = args.artifact or _newest_artifact()
    runtime = NluRuntime()
    model = runtime.load("bench", artifact)
    encoder = DenseEncoder()
    texts = _texts()
    for text in texts[:8]:  # warm up both models
        model.predict([text])
        encoder.encode([text])
    settings: dict[str, dict[str, Any]] = {}
    for customers in args.customers:
        turns = args.turns if customers > 1 else max(60, args.turns // 5)
        row: dict[str, Any] = {}
        # Alternate which goes first, so that neither always meets a warmer machine.
        for on in (False, True) if len(settings) % 2 == 0 else (True, False):
            _batching(model, encoder, on, args.wait_ms)
            measured = _setting(model, encoder, texts, customers, turns, args.threads)
            measured["mean_batch"] = _mean_batch(model.batcher, encoder.batcher) if on else 1.0
            row["batching" if on else "no_batching"] = measured
            print(customers, "on" if on else "off", measured, flush=True)
        off, on_ = row["no_batching"], row["batching"]
        row["throughput_ratio"] = round(on_["turns_per_s"] / off["turns_per_s"], 2)
        row["p50_added_ms"] = round(on_["latency_p50_ms"] - off["latency_p50_ms"], 1)
        settings[str(customers)] = row
    result = {
        "name": "batching",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.batching_eval "
        + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "artifact"
        ),
        "machine": machine(),
        "setup": f"the demo shop's NLU model ({artifact.name}) + the MiniLM sentence encoder per "
        f"turn, {args.threads} server threads, torch {torch.get_num_threads()} threads; "
        "batching on and off in one process",
        "metrics": {
            f"batching_{k}_customers_throughput_ratio": v["throughput_ratio"]
            for k, v in settings.items()
        },
        "settings": settings,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "batching.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
