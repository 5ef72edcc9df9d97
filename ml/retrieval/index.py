"""One workspace's chunks in Qdrant: dense and sparse vectors with their payloads.

Searches go to an alias; the alias points at one physical collection (a *generation*). A full
re-index fills a new generation and then moves the alias in one operation, so a search sees the
old index or the new one, never a half-built one. The generation before stays until the next
switch, so a search that resolved the old name just before the switch still finishes on it.

Qdrant's local mode searches in Python: about 15 ms dense and 120 ms sparse at 12k points. In
local mode only one process may open the folder, so the index keeps an in-process mirror of the
collection's vectors (numpy and scipy, kept in step by every write made through it) and searches
that instead: the same scores in about a millisecond. On a server, Qdrant searches.
"""

import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from scipy.sparse import csc_matrix

from ml.retrieval.contracts import Chunk, ScoredChunk, SparseVector, Vector
from ml.retrieval.encoder import DIMENSION
from ml.vectors import local_fast_writes

DENSE = "dense"
SPARSE = "sparse"
_UPSERT_BATCH = 256


def chunk_payload(chunk: Chunk) -> dict[str, Any]:
    return {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "text": chunk.text,
        "heading_path": list(chunk.heading_path),
        "source": chunk.source,
        "position": chunk.position,
        "title": chunk.title,
        "entity_ids": list(chunk.entity_ids),
    }


def chunk_from_payload(payload: dict[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=str(payload["chunk_id"]),
        doc_id=str(payload["doc_id"]),
        text=str(payload["text"]),
        heading_path=tuple(payload.get("heading_path") or ()),
        source=str(payload.get("source") or ""),
        position=int(payload.get("position") or 0),
        title=str(payload.get("title") or ""),
        entity_ids=tuple(payload.get("entity_ids") or ()),
    )


def bm25_idf(document_count: int, document_frequency: Vector) -> Vector:
    """The IDF Qdrant's modifier applies: ln(1 + (N - df + 0.5) / (df + 0.5))."""
    n = float(document_count)
    return np.log1p((n - document_frequency + 0.5) / (document_frequency + 0.5)).astype(np.float32)


@dataclass
class _Mirror:
    """The vectors and payloads of one collection, held in process (local mode)."""

    dense: dict[str, Vector] = field(default_factory=dict)
    sparse: dict[str, SparseVector] = field(default_factory=dict)
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _frozen: "_Frozen | None" = None

    def put(
        self, chunk_id: str, dense: Vector, sparse: SparseVector, payload: dict[str, Any]
    ) -> None:
        with self.lock:
            self.dense[chunk_id] = dense
            self.sparse[chunk_id] = sparse
            self.payloads[chunk_id] = payload
            self._frozen = None

    def remove(self, chunk_ids: Iterable[str]) -> None:
        with self.lock:
            for chunk_id in chunk_ids:
                self.dense.pop(chunk_id, None)
                self.sparse.pop(chunk_id, None)
                self.payloads.pop(chunk_id, None)
            self._frozen = None

    def frozen(self) -> "_Frozen":
        with self.lock:
            if self._frozen is None:
                self._frozen = _Frozen.build(self.dense, self.sparse)
            return self._frozen


@dataclass(frozen=True)
class _Frozen:
    """Arrays built from a mirror, immutable: a search in flight keeps the snapshot it took."""

    ids: tuple[str, ...]
    dense: Vector
    sparse: csc_matrix
    columns: dict[int, int]
    idf: Vector

    @classmethod
    def build(cls, dense: dict[str, Vector], sparse: dict[str, SparseVector]) -> "_Frozen":
        ids = tuple(dense)
        matrix = (
            np.stack([dense[i] for i in ids]).astype(np.float32)
            if ids
            else np.zeros((0, DIMENSION), dtype=np.float32)
        )
        columns: dict[int, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        for row, chunk_id in enumerate(ids):
            vector = sparse[chunk_id]
            for index, value in zip(vector.indices, vector.values, strict=True):
                rows.append(row)
                cols.append(columns.setdefault(index, len(columns)))
                values.append(value)
        sparse_matrix = csc_matrix(
            (np.asarray(values, dtype=np.float32), (rows, cols)), shape=(len(ids), len(columns))
        )
        df = np.diff(sparse_matrix.indptr).astype(np.float32)
        return cls(ids, matrix, sparse_matrix, columns, bm25_idf(len(ids), df))

    def search_dense(self, query: Vector, limit: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        scores = self.dense @ query
        return self._top(scores, limit)

    def search_sparse(self, query: SparseVector, limit: int) -> list[tuple[str, float]]:
        cols = [self.columns[i] for i in query.indices if i in self.columns]
        if not cols or not self.ids:
            return []
        weights = self.idf[cols] * np.asarray(
            [v for i, v in zip(query.indices, query.values, strict=True) if i in self.columns],
            dtype=np.float32,
        )
        scores = np.asarray(self.sparse[:, cols] @ weights).ravel()
        hits = self._top(scores, limit)
        return [(chunk_id, score) for chunk_id, score in hits if score > 0]

    def _top(self, scores: Vector, limit: int) -> list[tuple[str, float]]:
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top]


_mirrors: dict[tuple[int, str], _Mirror] = {}
_mirrors_lock = threading.Lock()
_tuned: set[tuple[int, str]] = set()


def is_local(client: QdrantClient) -> bool:
    from qdrant_client.local.qdrant_local import QdrantLocal

    return isinstance(getattr(client, "_client", None), QdrantLocal)


class ChunkIndex:
    """The chunks of one workspace behind the alias ``alias``."""

    def __init__(self, client: QdrantClient, alias: str, *, in_process: bool | None = None):
        self.client = client
        self.alias = alias
        self.in_process = is_local(client) if in_process is None else in_process

    # --- generations and the alias ---------------------------------------------------------
    def current(self) -> str | None:
        """The physical collection the alias points at, if any."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == self.alias:
                return alias.collection_name
        return None

    def generations(self) -> list[str]:
        prefix = f"{self.alias}__g"
        names = [c.name for c in self.client.get_collections().collections]
        return sorted(n for n in names if n.startswith(prefix))

    def create_generation(self) -> str:
        name = f"{self.alias}__g{time.time_ns()}"
        self.client.create_collection(
            name,
            vectors_config={DENSE: qm.VectorParams(size=DIMENSION, distance=qm.Distance.DOT)},
            sparse_vectors_config={SPARSE: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
        )
        if not is_local(self.client):  # local mode has no payload indexes
            self.client.create_payload_index(name, "doc_id", qm.PayloadSchemaType.KEYWORD)
        return name

    def switch_to(self, generation: str) -> None:
        """Points the alias at ``generation`` at once; keeps the generation before, drops older."""
        previous = self.current()
        operations: list[qm.CreateAliasOperation | qm.DeleteAliasOperation] = []
        if previous is not None:
            operations.append(
                qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=self.alias))
            )
        operations.append(
            qm.CreateAliasOperation(
                create_alias=qm.CreateAlias(collection_name=generation, alias_name=self.alias)
            )
        )
        self.client.update_collection_aliases(change_aliases_operations=operations)
        for name in self.generations():
            if name not in (generation, previous):
                self.drop_generation(name)

    def drop_generation(self, name: str) -> None:
        self.client.delete_collection(name)
        with _mirrors_lock:
            _mirrors.pop((id(self.client), name), None)

    def ensure(self) -> str:
        """The current generation, created (empty) if the workspace has none yet."""
        current = self.current()
        if current is None:
            current = self.create_generation()
            self.switch_to(current)
        return current

    def drop(self) -> None:
        """Removes the alias and every generation."""
        if self.current() is not None:
            self.client.update_collection_aliases(
                change_aliases_operations=[
                    qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=self.alias))
                ]
            )
        for name in self.generations():
            self.drop_generation(name)

    # --- writes ------------------------------------------------------------------------------
    def upsert(
        self,
        chunks: Sequence[Chunk],
        dense: Vector,
        sparse: Sequence[SparseVector],
        *,
        generation: str | None = None,
    ) -> None:
        if not (len(chunks) == len(dense) == len(sparse)):
            raise ValueError("chunks, dense and sparse vectors must have the same length")
        target = generation or self.ensure()
        self._tune(target)
        for start in range(0, len(chunks), _UPSERT_BATCH):
            points = [
                qm.PointStruct(
                    id=chunk.chunk_id,
                    vector={
                        DENSE: dense[i].tolist(),
                        SPARSE: qm.SparseVector(
                            indices=list(sparse[i].indices), values=list(sparse[i].values)
                        ),
                    },
                    payload=chunk_payload(chunk),
                )
                for i, chunk in enumerate(chunks[start : start + _UPSERT_BATCH], start=start)
            ]
            self.client.upsert(target, points=points, wait=True)
        if self.in_process:
            mirror = self._mirror(target)
            for i, chunk in enumerate(chunks):
                mirror.put(chunk.chunk_id, dense[i], sparse[i], chunk_payload(chunk))

    def delete_doc(self, doc_id: str, *, generation: str | None = None) -> None:
        target = generation or self.current()
        if target is None:
            return
        self._tune(target)
        selector = qm.FilterSelector(
            filter=qm.Filter(
                must=[qm.FieldCondition(key="doc_id", match=qm.MatchValue(value=doc_id))]
            )
        )
        self.client.delete(target, points_selector=selector, wait=True)
        if self.in_process:
            mirror = self._mirror(target)
            mirror.remove(
                [
                    cid
                    for cid, payload in list(mirror.payloads.items())
                    if payload["doc_id"] == doc_id
                ]
            )

    def delete_chunks(self, chunk_ids: Sequence[str], *, generation: str | None = None) -> None:
        target = generation or self.current()
        if target is None or not chunk_ids:
            return
        self._tune(target)
        self.client.delete(
            target, points_selector=qm.PointIdsList(points=list(chunk_ids)), wait=True
        )
        if self.in_process:
            self._mirror(target).remove(chunk_ids)

    def _tune(self, generation: str) -> None:
        key = (id(self.client), generation)
        if key not in _tuned:
            local_fast_writes(self.client, generation)
            _tuned.add(key)

    # --- reads -------------------------------------------------------------------------------
    def _mirror(self, generation: str) -> _Mirror:
        key = (id(self.client), generation)
        with _mirrors_lock:
            mirror = _mirrors.get(key)
            if mirror is not None:
                return mirror
            mirror = _mirrors[key] = _Mirror()
        # First use in this process: load what the folder holds.
        offset: Any = None
        while True:
            records, offset = self.client.scroll(
                generation, limit=1024, offset=offset, with_payload=True, with_vectors=True
            )
            for record in records:
                vectors: Any = record.vector
                raw_sparse = vectors[SPARSE]
                mirror.put(
                    str(record.id),
                    np.asarray(vectors[DENSE], dtype=np.float32),
                    SparseVector(tuple(raw_sparse.indices), tuple(raw_sparse.values)),
                    dict(record.payload or {}),
                )
            if offset is None:
                return mirror

    def count(self) -> int:
        current = self.current()
        return 0 if current is None else self.client.count(current, exact=True).count

    def snapshot(self) -> "IndexSnapshot | None":
        """A consistent view of the current generation for one search."""
        generation = self.current()
        if generation is None:
            return None
        return IndexSnapshot(self, generation)


class IndexSnapshot:
    """Every read of one search goes to the same generation, so results are never mixed."""

    def __init__(self, index: ChunkIndex, generation: str):
        self.index = index
        self.generation = generation
        self._frozen = index._mirror(generation).frozen() if index.in_process else None
        self._payloads = index._mirror(generation).payloads if index.in_process else None

    def search_dense(self, query: Vector, limit: int) -> list[ScoredChunk]:
        if self._frozen is not None:
            hits = self._frozen.search_dense(query, limit)
        else:
            result = self.index.client.query_points(
                self.generation, query=query.tolist(), using=DENSE, limit=limit, with_payload=False
            )
            hits = [(str(p.id), float(p.score)) for p in result.points]
        return [ScoredChunk(chunk_id, score) for chunk_id, score in hits]

    def search_sparse(self, query: SparseVector, limit: int) -> list[ScoredChunk]:
        if not query.indices:
            return []
        if self._frozen is not None:
            hits = self._frozen.search_sparse(query, limit)
        else:
            result = self.index.client.query_points(
                self.generation,
                query=qm.SparseVector(indices=list(query.indices), values=list(query.values)),
                using=SPARSE,
                limit=limit,
                with_payload=False,
            )
            hits = [(str(p.id), float(p.score)) for p in result.points]
        return [ScoredChunk(chunk_id, score) for chunk_id, score in hits if math.isfinite(score)]

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        if self._payloads is not None:
            payloads = self._payloads
            return {cid: chunk_from_payload(payloads[cid]) for cid in chunk_ids if cid in payloads}
        records = self.index.client.retrieve(
            self.generation, ids=list(chunk_ids), with_payload=True
        )
        return {str(r.id): chunk_from_payload(dict(r.payload or {})) for r in records}

    def dense_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Vector]:
        if self._frozen is not None:
            mirror = self.index._mirror(self.generation)
            return {cid: mirror.dense[cid] for cid in chunk_ids if cid in mirror.dense}
        records = self.index.client.retrieve(
            self.generation, ids=list(chunk_ids), with_payload=False, with_vectors=[DENSE]
        )
        out: dict[str, Vector] = {}
        for record in records:
            vectors: Any = record.vector
            out[str(record.id)] = np.asarray(vectors[DENSE], dtype=np.float32)
        return out
