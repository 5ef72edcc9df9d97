"""Retrieval benchmark: Bitext FAQ retrieval, DSTC10 track 2 knowledge selection, latency,
ingestion throughput and GraphSAGE training time.

    .venv/bin/python -m benchmarks.retrieval_eval [--quick] [--output retrieval]

Everything goes through the product code (``ml.retrieval``, ``knowledge_graph``) with Qdrant in
embedded (local) mode on a temporary folder, on the machine's cores (2 here).

- Bitext: a fixed stratified split by intent (seed 13, 20% of each intent's rows for test); the
  training rows' responses are the knowledge base (one chunk each). A query is a test row's
  instruction; a hit is a passage whose row has the query's intent. Recall@5 and MRR@10 with all
  channels (dense, sparse, graph).
- DSTC10 track 2: the 12,039 snippets of ``knowledge.json``, each a chunk headed by its entity's
  name and its question (the way the CSV question/answer import stores a row). The operators'
  entity dictionary is the list of entity names. The 104 validation turns that need knowledge:
  the query is the last user turn, with the earlier turns as conversation context, the same
  input for every variant (dense and sparse read the question with the turn before it; the
  graph channel links the entity a question refers back to in the earlier turns). Recall@1,
  recall@5 and MRR@10 for dense, dense+sparse, graph alone, all channels (default fusion
  weights, graph 2) and all channels with plain equal-weight RRF.
- Latency: ``retrieve`` with all channels over the DSTC10 index (12k chunks), p50/p95 over the
  validation queries repeated, after a warm-up; also with Qdrant's own local search instead of
  the in-process mirror, for comparison.
- Ingestion: chunks per second from snippets to searchable points (chunking, MiniLM, BM25,
  upsert into the local Qdrant folder).
- GraphSAGE: seconds to train on the DSTC10 entity graph (spaCy entity extraction is timed
  separately).
"""

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.common import machine, percentile
from ml.datasets import datasets_dir

RESULTS = Path(__file__).resolve().parent / "results"
SEED = 13


def _rank_metrics(ranks: Sequence[int | None], prefix: str) -> dict[str, float]:
    """``ranks``: 1-based rank of the first hit per query, None when not in the top 10."""
    n = len(ranks) or 1
    return {
        f"{prefix}_recall_at_1": round(sum(1 for r in ranks if r is not None and r <= 1) / n, 4),
        f"{prefix}_recall_at_5": round(sum(1 for r in ranks if r is not None and r <= 5) / n, 4),
        f"{prefix}_mrr_at_10": round(sum(1 / r for r in ranks if r is not None) / n, 4),
    }


def _first_hit(passages: Sequence[Any], is_hit: Any) -> int | None:
    for rank, passage in enumerate(passages[:10], start=1):
        if is_hit(passage):
            return rank
    return None


class Kb:
    """A knowledge base in a fresh local Qdrant folder, built the way the product builds one."""

    def __init__(self, name: str, encoder: Any):
        from ml.retrieval.index import ChunkIndex
        from ml.vectors import QdrantLocation, qdrant_open

        self.folder = tempfile.mkdtemp(prefix=f"cs-bench-{name}-")
        self.client = qdrant_open(QdrantLocation(path=self.folder))
        self.index = ChunkIndex(self.client, f"kb_{name}")
        self.encoder = encoder
        self.graph: Any = None

    def ingest(self, chunks: Sequence[Any], batch: int = 512) -> float:
        """Seconds to encode and store the chunks."""
        from ml.retrieval.sparse import Bm25Encoder

        sparse = Bm25Encoder()
        began = time.perf_counter()
        generation = self.index.create_generation()
        for start in tqdm(range(0, len(chunks), batch), desc="ingest", unit="batch"):
            part = chunks[start : start + batch]
            texts = [c.indexed_text for c in part]
            self.index.upsert(
                part,
                self.encoder.encode(texts),
                [sparse.encode_document(t) for t in texts],
                generation=generation,
            )
        self.index.switch_to(generation)
        return time.perf_counter() - began

    def build_graph(
        self, chunks: Sequence[Any], curated: Sequence[Any], epochs: int
    ) -> dict[str, float]:
        from knowledge_graph.build import build_and_train, extract_mentions, graph_channel
        from knowledge_graph.sage import SageConfig

        began = time.perf_counter()
        entities, mentions = extract_mentions(
            [(c.chunk_id, c.indexed_text) for c in chunks], curated, progress=True
        )
        extract_s = time.perf_counter() - began
        built = build_and_train(
            entities, [], mentions, self.encoder.encode, SageConfig(epochs=epochs), progress=True
        )
        self.graph = graph_channel(built.kg, built.features, built.embeddings)
        return {
            "entity_extraction_s": round(extract_s, 1),
            "graphsage_train_seconds": round(built.report.seconds, 1),
            "graphsage_epochs": built.report.epochs,
            "graphsage_loss_first": round(built.report.first_loss, 4),
            "graphsage_loss_last": round(built.report.last_loss, 4),
            "graph_nodes": built.kg.graph.number_of_nodes(),
            "graph_edges": built.kg.graph.number_of_edges(),
        }

    def retriever(self, *, in_process: bool = True) -> Any:
        from ml.retrieval.index import ChunkIndex
        from ml.retrieval.retriever import HybridRetriever

        index = (
            self.index
            if in_process
            else ChunkIndex(self.client, self.index.alias, in_process=False)
        )
        return HybridRetriever(index, self.encoder, graph=self.graph)

    def close(self) -> None:
        self.client.close()


def bitext(encoder: Any, quick: bool, epochs: int) -> dict[str, Any]:
    from ml.retrieval.chunking import chunk_id_for
    from ml.retrieval.contracts import Chunk

    path = (
        datasets_dir()
        / "bitext-customer-support"
        / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    )
    with path.open(newline="", encoding="utf-8") as handle:
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
            chunk_id=chunk_id_for(f"bitext:{i}", 0),
            doc_id=f"bitext:{i}",
            text=rows[i]["response"],
            source=f"bitext row {i}",
        )
        for i in sorted(train)
    ]
    intent_of = {c.chunk_id: rows[int(c.doc_id.split(":")[1])]["intent"] for c in chunks}
    kb = Kb("bitext", encoder)
    kb.ingest(chunks)
    graph_stats = kb.build_graph(chunks, [], epochs)
    metrics: dict[str, Any] = {"bitext_kb_chunks": len(chunks), "bitext_test_queries": len(test)}
    for label, channels in (("bitext_dense", ("dense",)), ("bitext", ("dense", "sparse", "graph"))):
        retriever = kb.retriever()
        ranks = []
        for i in tqdm(test, desc=label, unit="query"):
            passages = retriever.retrieve(rows[i]["instruction"], 10, channels=channels)
            ranks.append(
                _first_hit(passages, lambda p, i=i: intent_of[p.chunk_id] == rows[i]["intent"])
            )
        metrics.update(_rank_metrics(ranks, label))
    metrics["bitext_graph_nodes"] = graph_stats["graph_nodes"]
    kb.close()
    return metrics


def dstc10(encoder: Any, quick: bool, epochs: int) -> dict[str, Any]:
    import torch

    from knowledge_graph.contracts import Entity
    from ml.retrieval.chunking import chunk_id_for
    from ml.retrieval.contracts import Chunk, FusionConfig

    root = datasets_dir() / "dstc10-track2-knowledge"
    knowledge = json.loads((root / "knowledge.json").read_text())
    logs = json.loads((root / "val" / "logs.json").read_text())
    labels = json.loads((root / "val" / "labels.json").read_text())
    chunks: list[Chunk] = []
    curated: list[Entity] = []
    gold_chunk: dict[tuple[str, str, str], str] = {}
    for domain, entities in knowledge.items():
        for entity_id, entity in entities.items():
            name = entity.get("name") or domain
            if entity_id != "*":
                curated.append(Entity(f"{domain}:{entity_id}", name, kind=domain))
            for doc_id, doc in entity["docs"].items():
                key = f"dstc10:{domain}:{entity_id}:{doc_id}"
                chunk = Chunk(
                    chunk_id=chunk_id_for(key, 0),
                    doc_id=key,
                    text=doc["body"],
                    heading_path=(name, doc["title"]),
                    source=key,
                )
                chunks.append(chunk)
                gold_chunk[(domain, entity_id, doc_id)] = chunk.chunk_id
    kb = Kb("dstc10", encoder)
    ingest_s = kb.ingest(chunks)
    metrics: dict[str, Any] = {
        "dstc10_kb_chunks": len(chunks),
        "ingestion_chunks": len(chunks),
        "ingestion_seconds": round(ingest_s, 1),
        "ingestion_chunks_per_s": round(len(chunks) / ingest_s, 1),
    }
    metrics.update(kb.build_graph(chunks, curated, epochs))

    turns = []
    for log, label in zip(logs, labels, strict=True):
        if not label["target"]:
            continue
        gold = label["knowledge"][0]
        key = (gold["domain"], str(gold["entity_id"]), str(gold["doc_id"]))
        texts = [turn["text"] for turn in log]
        turns.append((texts, gold_chunk[key]))
    metrics["dstc10_queries"] = len(turns)
    # One query at a time: a second intra-op thread buys little for one short sentence and
    # spins when the other core is busy.
    torch.set_num_threads(1)
    variants = (
        ("dstc10_dense", ("dense",), None),
        ("dstc10_dense_sparse", ("dense", "sparse"), None),
        ("dstc10_graph_only", ("graph",), None),
        ("dstc10_full", ("dense", "sparse", "graph"), None),
        ("dstc10_full_equal_weights", ("dense", "sparse", "graph"), 1.0),
    )
    for label, channels, graph_weight in variants:
        retriever = kb.retriever()
        if graph_weight is not None:
            retriever.fusion = FusionConfig(weights={"dense": 1.0, "sparse": 1.0, "graph": 1.0})
        ranks = []
        for texts, gold in tqdm(turns, desc=label, unit="query"):
            passages = retriever.retrieve(texts[-1], 10, channels=channels, context=texts[:-1])
            ranks.append(_first_hit(passages, lambda p, gold=gold: p.chunk_id == gold))
        metrics.update(_rank_metrics(ranks, label))

    # Latency with every channel, on the 12k-chunk index.
    rounds = 1 if quick else 5
    for label, in_process in (("retrieval", True), ("retrieval_qdrant_local_search", False)):
        retriever = kb.retriever(in_process=in_process)
        for texts, _ in turns[:10]:
            retriever.retrieve(texts[-1], 5, context=texts[:-1])
        timings = []
        for _ in range(rounds if in_process else 1):
            for texts, _ in tqdm(turns, desc=f"latency {label}", unit="query"):
                began = time.perf_counter()
                retriever.retrieve(texts[-1], 5, context=texts[:-1])
                timings.append((time.perf_counter() - began) * 1000)
        metrics[f"{label}_latency_p50_ms"] = percentile(timings, 0.5)
        metrics[f"{label}_latency_p95_ms"] = percentile(timings, 0.95)
    kb.close()
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the Bitext test queries")
    parser.add_argument("--output", default="retrieval", help="result file name (no .json)")
    parser.add_argument("--epochs", type=int, default=100, help="GraphSAGE epochs")
    parser.add_argument("--only", choices=["bitext", "dstc10"], default=None)
    args = parser.parse_args()

    import torch

    from ml.retrieval.encoder import DenseEncoder

    torch.set_num_threads(2)
    encoder = DenseEncoder()
    encoder.encode(["warm up"])
    metrics: dict[str, Any] = {}
    if args.only in (None, "dstc10"):
        metrics.update(dstc10(encoder, args.quick, args.epochs))
    if args.only in (None, "bitext"):
        metrics.update(bitext(encoder, args.quick, args.epochs))
    if "dstc10_full_recall_at_5" in metrics:
        metrics["dstc10_graph_gain_recall_at_5"] = round(
            metrics["dstc10_full_recall_at_5"] - metrics["dstc10_dense_sparse_recall_at_5"], 4
        )
    previous = RESULTS / f"{args.output}.json"
    commands = [" ".join(["python -m benchmarks.retrieval_eval", *sys.argv[1:]])]
    if args.only and previous.exists():
        # One part re-run: keep the other part's figures and say which command made which.
        earlier = json.loads(previous.read_text())
        metrics = {**earlier["metrics"], **metrics}
        commands = [*earlier.get("commands", [earlier["command"]]), *commands]
    result = {
        "name": args.output,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": commands[-1],
        "commands": commands,
        "machine": machine(),
        "setup": "ml.retrieval HybridRetriever (MiniLM dense, BM25 sparse, knowledge_graph "
        "graph channel, RRF k=60) over Qdrant local mode in a temporary folder; torch on 2 "
        "threads",
        "metrics": metrics,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
