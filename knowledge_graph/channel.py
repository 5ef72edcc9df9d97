"""The graph channel of retrieval: link the query's entities, expand over relations guided by
GraphSAGE similarity, and return the chunks that mention what was reached, ranked by how strongly
their entities were reached times how close the chunk is to the query."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from knowledge_graph.contracts import CURATED, NOUN_PHRASE, LinkedEntity
from knowledge_graph.graph import KnowledgeGraph
from knowledge_graph.linking import EntityLinker

FloatArray = npt.NDArray[np.float32]


class ChunkVectors(Protocol):
    def dense_vectors(self, chunk_ids: Sequence[str]) -> dict[str, FloatArray]: ...


@dataclass(frozen=True)
class GraphHit:
    chunk_id: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ExpansionConfig:
    hops: int = 1
    fanout: int = 5  # neighbours followed per entity and hop
    min_similarity: float = 0.5  # GraphSAGE cosine to follow an edge
    decay: float = 0.5  # weight kept per hop
    # An entity mentioned in more chunks than this is a hub ("price", "parking"): it still
    # counts for a chunk found through another entity, but its own chunks are not gathered.
    max_chunks_per_entity: int = 150
    # How much each topic a chunk shares with the question adds to its subject's weight.
    topic_bonus: float = 0.5


@dataclass(frozen=True)
class Reached:
    entity_id: str
    weight: float
    reason: str


class GraphChannel:
    def __init__(
        self,
        kg: KnowledgeGraph,
        linker: EntityLinker,
        node_embeddings: dict[str, FloatArray],
        config: ExpansionConfig = ExpansionConfig(),
    ):
        self.kg = kg
        self.linker = linker
        self.node_embeddings = node_embeddings
        self.config = config

    def names(self, query: str, context: Sequence[str] = ()) -> list[LinkedEntity]:
        """The entities named in the query or the turns before it (no vector needed: the
        retriever runs this while it encodes the query)."""
        return self.linker.names_in_context(query, context)

    def expand(
        self,
        query: str,
        query_vector: FloatArray,
        context: Sequence[str] = (),
        names: Sequence[LinkedEntity] | None = None,
    ) -> dict[str, Reached]:
        if names is None:
            names = self.names(query, context)
        reached: dict[str, Reached] = {}
        for link in self.linker.with_embedding_links(names, query_vector):
            how = link.how if " " in link.how else f"{link.how} match"
            label = f"entity {link.name!r} ({how}"
            label += f" of {link.surface!r})" if link.surface else f", {link.score:.2f})"
            reached[link.entity_id] = Reached(link.entity_id, link.score, label)
        frontier = list(reached.values())
        for _ in range(self.config.hops):
            following: list[Reached] = []
            for seed in frontier:
                seed_vector = self.node_embeddings.get(seed.entity_id)
                if seed_vector is None:
                    continue
                scored = []
                for other, relation, _ in self.kg.neighbours(seed.entity_id):
                    vector = self.node_embeddings.get(other)
                    if vector is None or other in reached:
                        continue
                    similarity = float(np.dot(seed_vector, vector))
                    if similarity >= self.config.min_similarity:
                        scored.append((similarity, other, relation))
                scored.sort(key=lambda s: (-s[0], s[1]))
                for similarity, other, relation in scored[: self.config.fanout]:
                    name = self.kg.entities[other].name
                    weight = seed.weight * self.config.decay * similarity
                    seed_name = self.kg.entities[seed.entity_id].name
                    reason = (
                        f"entity {name!r} via {seed_name!r} ({relation}, sage {similarity:.2f})"
                    )
                    reached[other] = Reached(other, weight, reason)
                    following.append(reached[other])
            frontier = following
        return reached

    def search(
        self,
        query: str,
        query_vector: FloatArray,
        k: int,
        vectors: ChunkVectors,
        context: Sequence[str] = (),
        names: Sequence[LinkedEntity] | None = None,
    ) -> list[GraphHit]:
        """``names``: what ``names(query, context)`` returned, when it ran beforehand."""
        reached = self.expand(query, query_vector, context, names)
        if not reached:
            return []
        # Named things (a hotel, a plan) are what a question is about; noun phrases ("parking",
        # "a good place for kids") are what it asks about them. When the conversation names a
        # subject, only its chunks (and those of named things reached from it) are candidates,
        # and the topics it asks about rank them; otherwise the topics gather the chunks.
        # The operators' own entities come first: a name spaCy found in the question ("Apple
        # Pay") is then a topic too.
        curated = {e for e in reached if self.kg.entities[e].origin == CURATED}
        named = {e for e in reached if self.kg.entities[e].origin != NOUN_PHRASE}
        gatherers = curated or named or set(reached)
        candidates: set[str] = set()
        for entity_id in gatherers:
            chunk_ids = self.kg.chunks_of.get(entity_id, ())
            if len(chunk_ids) <= self.config.max_chunks_per_entity:
                candidates.update(chunk_ids)
        if not candidates:
            return []
        chunk_vectors = vectors.dense_vectors(sorted(candidates))
        if not chunk_vectors:
            return []
        ids = list(chunk_vectors)
        similarity = np.maximum(np.stack([chunk_vectors[c] for c in ids]) @ query_vector, 0.0)
        strength = np.zeros(len(ids), dtype=np.float32)
        for i, chunk_id in enumerate(ids):
            named_here = [e for e in self.kg.entities_of.get(chunk_id, ()) if e in reached]
            subject = sum(reached[e].weight for e in named_here if e in gatherers)
            topics = sum(reached[e].weight for e in named_here if e not in gatherers)
            strength[i] = subject * (1.0 + self.config.topic_bonus * topics)
        scores = strength * similarity
        order = sorted(range(len(ids)), key=lambda i: (-float(scores[i]), ids[i]))[:k]
        hits = []
        for i in order:
            mentioned = [reached[e] for e in self.kg.entities_of.get(ids[i], ()) if e in reached]
            reasons = tuple(r.reason for r in sorted(mentioned, key=lambda r: -r.weight))
            hits.append(GraphHit(ids[i], float(scores[i]), reasons))
        return hits
