"""The knowledge graph as networkx: entities as nodes; curated relations and co-occurrence within
chunks as weighted edges; which chunks mention each entity."""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import networkx as nx

from knowledge_graph.contracts import COOCCURRENCE, Entity, Mention, Relation

# A chunk naming many entities (a long list) says little about how any two of them relate.
MAX_ENTITIES_PER_CHUNK = 12


def cooccurrence_relations(mentions: Iterable[Mention], *, min_count: int = 1) -> list[Relation]:
    by_chunk: dict[str, list[str]] = defaultdict(list)
    for mention in mentions:
        by_chunk[mention.chunk_id].append(mention.entity_id)
    pairs: Counter[tuple[str, str]] = Counter()
    for entity_ids in by_chunk.values():
        unique = sorted(set(entity_ids))[:MAX_ENTITIES_PER_CHUNK]
        pairs.update(combinations(unique, 2))
    return [
        Relation(head, tail, "co_occurs", float(count), origin=COOCCURRENCE)
        for (head, tail), count in sorted(pairs.items())
        if count >= min_count
    ]


@dataclass
class KnowledgeGraph:
    graph: nx.Graph
    entities: dict[str, Entity]
    chunks_of: dict[str, tuple[str, ...]]
    entities_of: dict[str, tuple[str, ...]]

    @property
    def node_ids(self) -> list[str]:
        return list(self.graph.nodes)

    def neighbours(self, entity_id: str) -> list[tuple[str, str, float]]:
        """(neighbour, relation, weight)."""
        if entity_id not in self.graph:
            return []
        return [
            (other, str(data.get("relation", "related_to")), float(data.get("weight", 1.0)))
            for other, data in self.graph[entity_id].items()
        ]


def build_graph(
    entities: Sequence[Entity], relations: Sequence[Relation], mentions: Sequence[Mention]
) -> KnowledgeGraph:
    graph = nx.Graph()
    by_id = {e.entity_id: e for e in entities}
    for entity in entities:
        graph.add_node(entity.entity_id, name=entity.name, kind=entity.kind)
    # Curated relations win over co-occurrence for the label of an edge; weights add up.
    for relation in sorted(relations, key=lambda r: r.origin == COOCCURRENCE):
        if (
            relation.head not in by_id
            or relation.tail not in by_id
            or relation.head == relation.tail
        ):
            continue
        if graph.has_edge(relation.head, relation.tail):
            graph[relation.head][relation.tail]["weight"] += relation.weight
        else:
            graph.add_edge(
                relation.head,
                relation.tail,
                relation=relation.relation,
                weight=relation.weight,
                origin=relation.origin,
            )
    chunks_of: dict[str, list[str]] = defaultdict(list)
    entities_of: dict[str, list[str]] = defaultdict(list)
    for mention in mentions:
        if mention.entity_id in by_id:
            chunks_of[mention.entity_id].append(mention.chunk_id)
            entities_of[mention.chunk_id].append(mention.entity_id)
    return KnowledgeGraph(
        graph=graph,
        entities=by_id,
        chunks_of={k: tuple(v) for k, v in chunks_of.items()},
        entities_of={k: tuple(v) for k, v in entities_of.items()},
    )


def neighbourhood(
    kg: KnowledgeGraph, entity_id: str, *, hops: int = 1, limit: int = 30
) -> nx.Graph:
    """The entity and what lies within ``hops`` of it, strongest edges first (for the editor)."""
    if entity_id not in kg.graph:
        return nx.Graph()
    keep = {entity_id}
    frontier = [entity_id]
    for _ in range(hops):
        following: list[str] = []
        for node in frontier:
            ranked = sorted(kg.neighbours(node), key=lambda n: (-n[2], n[0]))
            for other, _, _ in ranked:
                if len(keep) >= limit:
                    break
                if other not in keep:
                    keep.add(other)
                    following.append(other)
        frontier = following
    sub: nx.Graph = kg.graph.subgraph(keep).copy()
    return sub
