"""From chunks and the operators' curated entities and triples to a trained graph channel.

entities = curated + spaCy (NER, noun phrases)      mentions = which chunk names which entity
relations = curated triples + co-occurrence          graph = networkx
features = encoder(entity name)  ->  GraphSAGE (link prediction)  ->  node embeddings
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from knowledge_graph.channel import ExpansionConfig, GraphChannel
from knowledge_graph.contracts import Entity, Mention, Relation
from knowledge_graph.extract import EntityDictionary, EntityExtractor
from knowledge_graph.graph import KnowledgeGraph, build_graph, cooccurrence_relations
from knowledge_graph.linking import EntityLinker
from knowledge_graph.sage import (
    GraphSage,
    SageConfig,
    TrainReport,
    embed,
    graph_tensors,
    train_sage,
)

FloatArray = npt.NDArray[np.float32]
Encode = Callable[[Sequence[str]], FloatArray]


@dataclass
class BuiltGraph:
    kg: KnowledgeGraph
    features: dict[str, FloatArray]
    embeddings: dict[str, FloatArray]
    model: GraphSage
    report: TrainReport
    mentions: list[Mention]


def extract_mentions(
    chunks: Sequence[tuple[str, str]],
    curated: Sequence[Entity],
    *,
    use_spacy: bool = True,
    progress: bool = False,
) -> tuple[list[Entity], list[Mention]]:
    """Every entity (curated and discovered) and every mention in the chunks."""
    extractor = EntityExtractor(EntityDictionary(curated), use_spacy=use_spacy)
    discovered, mentions = extractor.extract(chunks, progress=progress)
    return [*curated, *discovered], mentions


def entity_features(entities: Sequence[Entity], encode: Encode) -> dict[str, FloatArray]:
    vectors = encode([e.name for e in entities])
    return {e.entity_id: vectors[i] for i, e in enumerate(entities)}


def build_and_train(
    entities: Sequence[Entity],
    curated_relations: Sequence[Relation],
    mentions: Sequence[Mention],
    encode: Encode,
    config: SageConfig | None = None,
    *,
    progress: bool = False,
) -> BuiltGraph:
    relations = [*curated_relations, *cooccurrence_relations(mentions)]
    kg = build_graph(entities, relations, mentions)
    features = entity_features(entities, encode)
    tensors = graph_tensors(kg, features)
    model, report = train_sage(tensors, config or SageConfig(), progress=progress)
    return BuiltGraph(kg, features, embed(model, tensors), model, report, list(mentions))


def graph_channel(
    kg: KnowledgeGraph,
    features: dict[str, FloatArray],
    embeddings: dict[str, FloatArray],
    config: ExpansionConfig | None = None,
) -> GraphChannel:
    """The channel, linking by name over every entity and by embedding over curated and named
    ones (noun phrases are too many and too vague to link a query by embedding alone)."""
    entities = list(kg.entities.values())
    linkable = [e for e in entities if e.origin != "noun_phrase" and e.entity_id in features]
    vectors = (
        np.stack([features[e.entity_id] for e in linkable]).astype(np.float32) if linkable else None
    )
    linker = EntityLinker(entities, vectors, embedding_entities=linkable)
    return GraphChannel(kg, linker, embeddings, config or ExpansionConfig())
