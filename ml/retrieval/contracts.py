"""What retrieval takes and gives back: frozen dataclasses and one protocol."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

CHANNELS: tuple[str, ...] = ("dense", "sparse", "graph")


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path, as a parser found it in a document."""

    heading_path: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Chunk:
    """A piece of a knowledge source, small enough to embed, that remembers where it came from.

    ``chunk_id`` is stable (the same source and position give the same id), so indexing twice
    overwrites instead of duplicating. ``doc_id`` names the source ("article:12", "document:3"):
    deleting a source deletes every chunk with its ``doc_id``.
    """

    chunk_id: str
    doc_id: str
    text: str
    heading_path: tuple[str, ...] = ()
    source: str = ""
    position: int = 0
    title: str = ""
    entity_ids: tuple[str, ...] = ()

    @property
    def indexed_text(self) -> str:
        """What the encoders see: the heading path gives a short chunk its context."""
        heading = " > ".join(self.heading_path)
        return f"{heading}\n{self.text}" if heading else self.text


@dataclass(frozen=True)
class ChannelHit:
    """One channel's finding of one chunk: its rank there (1 = best), score and why."""

    channel: str
    rank: int
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetrievedPassage:
    chunk_id: str
    doc_id: str
    text: str
    heading_path: tuple[str, ...]
    source: str
    score: float
    channels: tuple[ChannelHit, ...]
    title: str = ""
    injection_flagged: bool = False
    injection_rules: tuple[str, ...] = ()

    @property
    def found_by(self) -> tuple[str, ...]:
        return tuple(hit.channel for hit in self.channels)

    def channel(self, name: str) -> ChannelHit | None:
        return next((hit for hit in self.channels if hit.channel == name), None)


@dataclass(frozen=True)
class ScoredChunk:
    """A channel's raw result before fusion."""

    chunk_id: str
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class SparseVector:
    indices: tuple[int, ...]
    values: tuple[float, ...]


Vector = npt.NDArray[np.float32]


class ChunkVectors(Protocol):
    def dense_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Vector]: ...


class Scored(Protocol):
    """A channel's result: ``ScoredChunk`` or any object with the same fields."""

    @property
    def chunk_id(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def reasons(self) -> tuple[str, ...]: ...


class GraphSearcher(Protocol):
    """The graph channel (``knowledge_graph.channel.GraphChannel`` implements it)."""

    def names(self, query: str, context: Sequence[str] = ()) -> Any:
        """What the query and its earlier turns name, found without the query's vector."""
        ...

    def search(
        self,
        query: str,
        query_vector: Vector,
        k: int,
        vectors: ChunkVectors,
        context: Sequence[str] = (),
        names: Any = None,
    ) -> Sequence[Scored]: ...


@dataclass(frozen=True)
class FusionConfig:
    """Reciprocal rank fusion, ``sum(weight / (rrf_k + rank))``, over each channel's top
    ``depth``. Weights of 1 are plain RRF; learned weights replace them."""

    rrf_k: int = 60
    depth: int = 50
    # The graph channel speaks only when the question names (or refers back to) a known
    # entity, and then it carries what dense and sparse lack: which product, plan or place the
    # question is about. With equal weights two weak channels agreeing on a chunk of the wrong
    # entity outvote it; see benchmarks/results/retrieval.json for both settings.
    weights: dict[str, float] = field(
        default_factory=lambda: {"dense": 1.0, "sparse": 1.0, "graph": 2.0}
    )
