"""Vector store benchmark: the embedded default against Qdrant Edge, on the same vectors.

    .venv/bin/pip install qdrant-edge-py==0.9.0  # Apache-2.0; not a dependency of the product
    .venv/bin/python -m benchmarks.vector_store_eval [--quick] [--only bitext|dstc10]

The same chunks, encoded once (MiniLM dense, BM25 sparse, as the product encodes them), in:

- ``mirror``: the embedded default, Qdrant's local mode (qdrant-client) in a folder, searched
  through ``ChunkIndex``'s in-process mirror (numpy and scipy);
- ``mirror_blas1``: the same, with numpy's BLAS on one thread while it searches (on 2 busy cores
  a second BLAS thread made one 3612 x 384 product 10x slower: 4.2 ms against 0.44 ms);
- ``qdrant_local``: the same folder, searched by qdrant-client's local mode itself;
- ``edge``: Qdrant Edge (PyPI ``qdrant-edge-py``, the Qdrant team's in-process Rust engine), one
  shard in a folder with the same vectors: dense by dot product, sparse with the IDF modifier,
  payloads in memory, optimized after the load (an HNSW index where a segment is over Edge's
  indexing threshold, else exact search).

Per store and data set: build time (from encoded vectors to searchable: upserts, the mirror's
arrays, Edge's optimizer), search latency p50 / p95 of what a turn asks the store for (dense
top 50, sparse top 50 and the top 10 chunks' payloads, after a warm-up; 300 searches), and
recall@5 / MRR@10 of ``HybridRetriever`` with the dense and sparse channels (the graph channel
does not depend on the store; questions are encoded once and shared). ``qdrant_local`` gets no
recall pass: the mirror reproduces its scores (tests/ml/retrieval/test_index.py) and it is the
slow one. Data: Bitext (the split of ``retrieval_eval``: 3612 responses, 902 questions) and
DSTC10 track 2 (12,039 snippets, the 104 validation turns that need knowledge).
"""

import argparse
import contextlib
import csv
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from benchmarks.common import machine, percentile
from benchmarks.retrieval_eval import SEED, _first_hit, _rank_metrics
from ml.datasets import datasets_dir
from ml.retrieval.chunking import chunk_id_for
from ml.retrieval.contracts import Chunk, FusionConfig, ScoredChunk, SparseVector, Vector
from ml.retrieval.encoder import DIMENSION, DenseEncoder
from ml.retrieval.index import DENSE, SPARSE, ChunkIndex, chunk_from_payload, chunk_payload
from ml.retrieval.retriever import HybridRetriever
from ml.retrieval.sparse import Bm25Encoder

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 512
STORES = ("mirror", "mirror_blas1", "qdrant_local", "edge")
TIMED = 300  # searches timed per store and data set: a sample of the questions, or repeats
WARM_UP = 20


@dataclass(frozen=True)
class DataSet:
    name: str
    chunks: list[Chunk]
    # (question, earlier turns, is this passage a hit)
    queries: list[tuple[str, list[str], Callable[[Any], bool]]]


def bitext(quick: bool) -> DataSet:
    """The split of benchmarks.retrieval_eval: 20% of each intent's rows are the questions."""
    path = datasets_dir() / "bitext-customer-support"
    with (path / "Bitext_Sample_Customer_Support_Training_Dataset.csv").open(
        newline="", encoding="utf-8"
    ) as handle:
        rows = list(csv.DictReader(handle))
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_intent[row["intent"]].append(i)
    rng = random.Random(SEED)  # noqa: S311 (a fixed split, not a secret)
    train: list[int] = []
    test: list[int] = []
    for intent in sorted(by_intent):
        ids = sorted(by_intent[intent])
        rng.shuffle(ids)
        cut = round(len(ids) * 0.2)
        test += ids[:cut]
        train += ids[cut:]
    if quick:
        test = test[::10]
    chunks = [
        Chunk(
            chunk_id=chunk_id_for(f"bitext:{i}", 0), doc_id=f"bitext:{i}", text=rows[i]["response"]
        )
        for i in sorted(train)
    ]
    intent_of = {c.chunk_id: rows[int(c.doc_id.split(":")[1])]["intent"] for c in chunks}
    queries = [
        (
            rows[i]["instruction"],
            [],
            lambda p, want=rows[i]["intent"]: intent_of[p.chunk_id] == want,
        )
        for i in test
    ]
    return DataSet("bitext", chunks, queries)


def dstc10() -> DataSet:
    root = datasets_dir() / "dstc10-track2-knowledge"
    knowledge = json.loads((root / "knowledge.json").read_text())
    logs = json.loads((root / "val" / "logs.json").read_text())
    labels = json.loads((root / "val" / "labels.json").read_text())
    chunks: list[Chunk] = []
    gold_chunk: dict[tuple[str, str, str], str] = {}
    for domain, entities in knowledge.items():
        for entity_id, entity in entities.items():
            name = entity.get("name") or domain
            for doc_id, doc in entity["docs"].items():
                key = f"dstc10:{domain}:{entity_id}:{doc_id}"
                chunk = Chunk(
                    chunk_id=chunk_id_for(key, 0),
                    doc_id=key,
                    text=doc["body"],
                    heading_path=(name, doc["title"]),
                )
                chunks.append(chunk)
                gold_chunk[(domain, entity_id, doc_id)] = chunk.chunk_id
    queries = []
    for log, label in zip(logs, labels, strict=True):
        if not label["target"]:
            continue
        gold = label["knowledge"][0]
        want = gold_chunk[(gold["domain"], str(gold["entity_id"]), str(gold["doc_id"]))]
        texts = [turn["text"] for turn in log]
        queries.append((texts[-1], texts[:-1], lambda p, want=want: p.chunk_id == want))
    return DataSet("dstc10", chunks, queries)


class RememberedEncoder:
    """The dense encoder, each text encoded once: every store's recall pass reads the same
    question vectors, and the passes time the store, not MiniLM."""

    def __init__(self, encoder: DenseEncoder):
        self.encoder = encoder
        self.seen: dict[str, Vector] = {}

    def encode(self, texts: Sequence[str]) -> Vector:
        missing = list(dict.fromkeys(t for t in texts if t not in self.seen))
        if missing:
            self.seen.update(zip(missing, self.encoder.encode(missing), strict=True))
        return np.stack([self.seen[t] for t in texts])

    def encode_one(self, text: str) -> Vector:
        return self.encode([text])[0]


class EdgeSnapshot:
    """What HybridRetriever reads from an index snapshot, on a Qdrant Edge shard."""

    def __init__(self, shard: Any):
        self.shard = shard

    def search_dense(self, query: Vector, limit: int) -> list[ScoredChunk]:
        from qdrant_edge import Query, QueryRequest

        request = QueryRequest(
            limit=limit, query=Query.Nearest(query.tolist(), using=DENSE), with_payload=False
        )
        return [ScoredChunk(str(p.id), p.score) for p in self.shard.query(request)]

    def search_sparse(self, query: SparseVector, limit: int) -> list[ScoredChunk]:
        from qdrant_edge import Query, QueryRequest
        from qdrant_edge import SparseVector as EdgeSparse

        if not query.indices:
            return []
        vector = EdgeSparse(list(query.indices), list(query.values))
        request = QueryRequest(
            limit=limit, query=Query.Nearest(vector, using=SPARSE), with_payload=False
        )
        return [ScoredChunk(str(p.id), p.score) for p in self.shard.query(request)]

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        records = self.shard.retrieve(list(chunk_ids), with_payload=True, with_vector=False)
        return {str(r.id): chunk_from_payload(dict(r.payload or {})) for r in records}

    def dense_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Vector]:
        records = self.shard.retrieve(list(chunk_ids), with_payload=False, with_vector=[DENSE])
        return {str(r.id): np.asarray(r.vector[DENSE], dtype=np.float32) for r in records}


class EdgeIndex:
    """The part of ChunkIndex a search uses (``snapshot``), on one Qdrant Edge shard."""

    def __init__(self, folder: str):
        from qdrant_edge import (
            Distance,
            EdgeConfig,
            EdgeShard,
            EdgeSparseVectorParams,
            EdgeVectorParams,
            Memory,
            Modifier,
        )

        config = EdgeConfig(
            vectors={DENSE: EdgeVectorParams(size=DIMENSION, distance=Distance.Dot)},
            sparse_vectors={SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
            payload_memory=Memory.Cached,
        )
        self.shard = EdgeShard.create(folder, config)

    def upsert(
        self, chunks: Sequence[Chunk], dense: Vector, sparse: Sequence[SparseVector]
    ) -> None:
        from qdrant_edge import Point, UpdateOperation
        from qdrant_edge import SparseVector as EdgeSparse

        points = [
            Point(
                chunk.chunk_id,
                {
                    DENSE: dense[i].tolist(),
                    SPARSE: EdgeSparse(list(sparse[i].indices), list(sparse[i].values)),
                },
                chunk_payload(chunk),
            )
            for i, chunk in enumerate(chunks)
        ]
        self.shard.update(UpdateOperation.upsert_points(points))

    def snapshot(self) -> EdgeSnapshot:
        return EdgeSnapshot(self.shard)


def build(
    store: str, folder: str, data: DataSet, dense: Vector, sparse: list[SparseVector]
) -> tuple[Any, float]:
    """The store filled with the data set's vectors in ``folder``, and the seconds it took."""
    from ml.vectors import QdrantLocation, qdrant_open

    began = time.perf_counter()
    if store == "edge":
        index: Any = EdgeIndex(folder)
        for start in range(0, len(data.chunks), BATCH):
            end = start + BATCH
            index.upsert(data.chunks[start:end], dense[start:end], sparse[start:end])
        index.shard.optimize()
        index.shard.flush()
    else:
        client = qdrant_open(QdrantLocation(path=folder))
        index = ChunkIndex(client, f"kb_{data.name}", in_process=store.startswith("mirror"))
        generation = index.create_generation()
        for start in range(0, len(data.chunks), BATCH):
            end = start + BATCH
            index.upsert(
                data.chunks[start:end], dense[start:end], sparse[start:end], generation=generation
            )
        index.switch_to(generation)
        snapshot = index.snapshot()  # the mirror's arrays are built on the first search
        assert snapshot is not None
        snapshot.search_dense(dense[0], 1)
    return index, time.perf_counter() - began


def measure(
    store: str,
    data: DataSet,
    encoder: RememberedEncoder,
    dense: Vector,
    sparse: list[SparseVector],
) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix=f"cs-bench-vectors-{store}-")
    index, build_s = build(store, folder, data, dense, sparse)
    retriever = HybridRetriever(index, encoder)
    prefix = f"{data.name}_{store}"
    # The store's part of a turn, on the questions' vectors (encoded once, outside the timing).
    texts = [
        " ".join([*earlier[-retriever.context_turns_in_text :], q])
        for q, earlier, _ in data.queries
    ]
    blas = threadpool_limits(1, user_api="blas") if store == "mirror_blas1" else None
    with blas or contextlib.nullcontext():
        metrics = _search_and_rank(store, prefix, data, index, retriever, encoder, texts, build_s)
    if store == "edge":
        info = index.shard.info()
        metrics[f"{prefix}_segments"] = info.segments_count
        metrics[f"{prefix}_indexed_vectors"] = info.indexed_vectors_count
        index.shard.close()
    else:
        index.client.close()
    shutil.rmtree(folder, ignore_errors=True)
    return metrics


def _search_and_rank(
    store: str,
    prefix: str,
    data: DataSet,
    index: Any,
    retriever: HybridRetriever,
    encoder: RememberedEncoder,
    texts: list[str],
    build_s: float,
) -> dict[str, Any]:
    depth = FusionConfig().depth
    question_dense = encoder.encode(texts)
    question_sparse = [retriever.sparse_encoder.encode_query(t) for t in texts]
    n = len(texts)
    rng = random.Random(SEED)  # noqa: S311 (a fixed sample, not a secret)
    order = sorted(rng.sample(range(n), TIMED)) if n >= TIMED else [i % n for i in range(TIMED)]
    timings: list[float] = []
    for n, i in enumerate(tqdm([*order[:WARM_UP], *order], desc=f"{prefix} search", unit="query")):
        began = time.perf_counter()
        snapshot = index.snapshot()
        hits = snapshot.search_dense(question_dense[i], depth)
        hits += snapshot.search_sparse(question_sparse[i], depth)
        snapshot.chunks([h.chunk_id for h in hits[:10]])
        if n >= WARM_UP:
            timings.append((time.perf_counter() - began) * 1000)
    metrics = {
        f"{prefix}_build_s": round(build_s, 2),
        f"{prefix}_search_p50_ms": percentile(timings, 0.5),
        f"{prefix}_search_p95_ms": percentile(timings, 0.95),
    }
    if store != "qdrant_local":
        ranks = [
            _first_hit(
                retriever.retrieve(q, 10, channels=("dense", "sparse"), context=earlier), hit
            )
            for q, earlier, hit in tqdm(data.queries, desc=f"{prefix} recall", unit="query")
        ]
        ranked = _rank_metrics(ranks, prefix)
        metrics[f"{prefix}_recall_at_5"] = ranked[f"{prefix}_recall_at_5"]
        metrics[f"{prefix}_mrr_at_10"] = ranked[f"{prefix}_mrr_at_10"]
    return metrics


def write(metrics: dict[str, Any], load_before: float, commands: list[str]) -> None:
    result = {
        "name": "vector_store",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": commands[-1],
        "commands": commands,
        "machine": machine(),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "setup": f"qdrant-client {version('qdrant-client')} local mode (mirror: ChunkIndex's "
        "in-process search; qdrant_local: its own search) against qdrant-edge-py "
        f"{version('qdrant-edge-py')} (one shard, optimized after the load); the same MiniLM "
        "and BM25 vectors; search = dense top 50 + sparse top 50 + the top 10 chunks' "
        "payloads; recall with HybridRetriever's dense and sparse channels; torch on 2 threads",
        "metrics": metrics,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "vector_store.json").write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the Bitext questions")
    parser.add_argument("--only", choices=["bitext", "dstc10"], default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]  # other work on the 2 cores skews the latencies

    import torch

    torch.set_num_threads(2)
    encoder = RememberedEncoder(DenseEncoder())
    bm25 = Bm25Encoder()
    metrics: dict[str, Any] = {}
    commands = [" ".join(["python -m benchmarks.vector_store_eval", *sys.argv[1:]])]
    previous = RESULTS / "vector_store.json"
    if args.only and previous.exists():
        # One part re-run: keep the other part's figures and say which command made which.
        earlier = json.loads(previous.read_text())
        metrics = dict(earlier["metrics"])
        commands = [*earlier["commands"], *commands]
    loaders = {"bitext": lambda: bitext(args.quick), "dstc10": dstc10}
    for name, load in loaders.items():
        if args.only not in (None, name):
            continue
        data = load()
        texts = [c.indexed_text for c in data.chunks]
        began = time.perf_counter()
        dense = encoder.encoder.encode(texts, progress=True)
        sparse = [bm25.encode_document(t) for t in texts]
        metrics[f"{data.name}_chunks"] = len(data.chunks)
        metrics[f"{data.name}_questions"] = len(data.queries)
        metrics[f"{data.name}_encode_s"] = round(time.perf_counter() - began, 1)
        for store in STORES:
            metrics.update(measure(store, data, encoder, dense, sparse))
        write(metrics, load_before, commands)  # each data set's figures as soon as they exist
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
