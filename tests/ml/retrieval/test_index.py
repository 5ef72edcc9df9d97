"""The chunk index on Qdrant local mode (in memory), with hand-made vectors."""

import threading

import numpy as np
import pytest
from qdrant_client import QdrantClient

from ml.retrieval.contracts import Chunk
from ml.retrieval.index import ChunkIndex
from ml.retrieval.sparse import Bm25Encoder

DIM = 384


def _vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _chunks(label: str, n: int) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=f"00000000-0000-0000-0000-{i:012d}",
            doc_id=f"doc:{i % 3}",
            text=f"{label} refund policy number {i}",
            title=label,
        )
        for i in range(n)
    ]


def _fill(index: ChunkIndex, chunks: list[Chunk], generation: str | None = None) -> np.ndarray:
    dense = _vectors(len(chunks), 0)
    sparse = [Bm25Encoder().encode_document(c.text) for c in chunks]
    index.upsert(chunks, dense, sparse, generation=generation)
    return dense


@pytest.fixture(params=[True, False], ids=["mirror", "qdrant"])
def index(request: pytest.FixtureRequest) -> ChunkIndex:
    return ChunkIndex(QdrantClient(":memory:"), "kb_test", in_process=request.param)


def test_dense_and_sparse_search(index: ChunkIndex) -> None:
    chunks = _chunks("v1", 9)
    dense = _fill(index, chunks)
    snapshot = index.snapshot()
    assert snapshot is not None
    hits = snapshot.search_dense(dense[4], 3)
    assert hits[0].chunk_id == chunks[4].chunk_id
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    sparse_hits = snapshot.search_sparse(Bm25Encoder().encode_query("number 7"), 3)
    assert sparse_hits[0].chunk_id == chunks[7].chunk_id


def test_delete_doc_removes_its_chunks(index: ChunkIndex) -> None:
    chunks = _chunks("v1", 9)
    dense = _fill(index, chunks)
    index.delete_doc("doc:1")
    snapshot = index.snapshot()
    assert snapshot is not None
    found = {h.chunk_id for h in snapshot.search_dense(dense[1], 9)}
    assert found == {c.chunk_id for c in chunks if c.doc_id != "doc:1"}
    assert index.count() == 6


def test_switch_keeps_one_previous_generation(index: ChunkIndex) -> None:
    first = index.ensure()
    second = index.create_generation()
    index.switch_to(second)
    third = index.create_generation()
    index.switch_to(third)
    assert index.current() == third
    assert index.generations() == sorted([second, third])
    assert first not in index.generations()


def test_reindex_while_searching_never_empty_or_mixed(index: ChunkIndex) -> None:
    _fill(index, _chunks("v1", 30))
    query = _vectors(1, 5)[0]
    seen: list[set[str]] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            snapshot = index.snapshot()
            assert snapshot is not None
            hits = snapshot.search_dense(query, 10)
            chunks = snapshot.chunks([h.chunk_id for h in hits])
            seen.append({c.title for c in chunks.values()} if len(chunks) == 10 else set())

    thread = threading.Thread(target=search)
    thread.start()
    try:
        for round_ in range(2, 6):
            generation = index.create_generation()
            _fill(index, _chunks(f"v{round_}", 30), generation=generation)
            index.switch_to(generation)
    finally:
        stop.set()
        thread.join()
    assert seen
    assert all(len(titles) == 1 for titles in seen), [t for t in seen if len(t) != 1][:3]
    final = index.snapshot()
    assert final is not None
    assert {
        c.title for c in final.chunks([h.chunk_id for h in final.search_dense(query, 5)]).values()
    } == {"v5"}
