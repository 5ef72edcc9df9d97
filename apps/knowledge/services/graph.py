"""The workspace's knowledge graph: curated entities and relations (operators), discovered ones
(spaCy over the indexed chunks), GraphSAGE trained by link prediction, embeddings in Qdrant."""

import logging
import re

import networkx as nx
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User, Workspace
from apps.core.exceptions import ApplicationError, NotFound
from apps.core.vectors import qdrant_client
from apps.knowledge.models import Entity, KnowledgeChunk, KnowledgeState, Relation
from apps.knowledge.services.audit import audit_record, knowledge_version_bump
from apps.knowledge.services.runtime import collection_alias, dense_encoder, graph_model_path
from knowledge_graph.build import build_and_train, extract_mentions
from knowledge_graph.contracts import Entity as KgEntity
from knowledge_graph.contracts import Mention
from knowledge_graph.contracts import Relation as KgRelation
from knowledge_graph.graph import KnowledgeGraph, build_graph, neighbourhood
from knowledge_graph.names import normalize_name
from knowledge_graph.sage import SageConfig, save_model
from knowledge_graph.store import NodeEmbeddingStore

logger = logging.getLogger(__name__)


def node_store(workspace_id: int) -> NodeEmbeddingStore:
    return NodeEmbeddingStore(qdrant_client(), f"{collection_alias(workspace_id)}__kg")


def _entity_key(name: str) -> str:
    return "c:" + re.sub(r"\s+", "-", normalize_name(name))[:120]


@transaction.atomic
def entity_create(
    *, workspace: Workspace, actor: User, name: str, kind: str = "thing", aliases: list[str]
) -> Entity:
    name = name.strip()
    if not normalize_name(name):
        raise ApplicationError("An entity needs a name with letters or digits.", code="invalid")
    key = _entity_key(name)
    if Entity.objects.filter(workspace=workspace, key=key).exists():
        raise ApplicationError(f"An entity named {name!r} already exists.", code="duplicate")
    entity = Entity.objects.create(
        workspace=workspace,
        key=key,
        name=name,
        kind=kind or "thing",
        aliases=[a.strip() for a in aliases if a.strip()],
        origin=Entity.Origin.CURATED,
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="entity.create",
        object_type="entity",
        object_id=entity.pk,
        summary=name,
    )
    knowledge_version_bump(workspace_id=workspace.pk)
    return entity


@transaction.atomic
def entity_update(*, entity: Entity, actor: User, data: dict[str, object]) -> Entity:
    for field in ("name", "kind", "aliases"):
        if field in data:
            setattr(entity, field, data[field])
    # An operator's edit makes a discovered entity a curated one.
    entity.origin = Entity.Origin.CURATED
    entity.save()
    audit_record(
        workspace=entity.workspace,
        actor=actor,
        action="entity.update",
        object_type="entity",
        object_id=entity.pk,
        summary=entity.name,
    )
    knowledge_version_bump(workspace_id=entity.workspace_id)
    return entity


@transaction.atomic
def entity_delete(*, entity: Entity, actor: User) -> None:
    audit_record(
        workspace=entity.workspace,
        actor=actor,
        action="entity.delete",
        object_type="entity",
        object_id=entity.pk,
        summary=entity.name,
    )
    workspace_id = entity.workspace_id
    entity.delete()
    knowledge_version_bump(workspace_id=workspace_id)


@transaction.atomic
def relation_create(
    *, workspace: Workspace, actor: User, head_id: int, tail_id: int, relation: str
) -> Relation:
    entities = {
        e.pk: e for e in Entity.objects.filter(workspace=workspace, pk__in=[head_id, tail_id])
    }
    if head_id not in entities or tail_id not in entities:
        raise NotFound("No such entity in this workspace.")
    if head_id == tail_id:
        raise ApplicationError("A relation joins two different entities.", code="invalid")
    row, created = Relation.objects.get_or_create(
        workspace=workspace,
        head=entities[head_id],
        tail=entities[tail_id],
        relation=relation.strip() or "related_to",
        origin=Relation.Origin.CURATED,
    )
    if not created:
        raise ApplicationError("This relation exists already.", code="duplicate")
    audit_record(
        workspace=workspace,
        actor=actor,
        action="relation.create",
        object_type="relation",
        object_id=row.pk,
        summary=f"{row.head.name} -{row.relation}-> {row.tail.name}",
    )
    knowledge_version_bump(workspace_id=workspace.pk)
    return row


@transaction.atomic
def relation_delete(*, relation: Relation, actor: User) -> None:
    audit_record(
        workspace=relation.workspace,
        actor=actor,
        action="relation.delete",
        object_type="relation",
        object_id=relation.pk,
    )
    workspace_id = relation.workspace_id
    relation.delete()
    knowledge_version_bump(workspace_id=workspace_id)


def _kg_entities(workspace_id: int) -> list[KgEntity]:
    return [
        KgEntity(e.key, e.name, e.kind, tuple(e.aliases), e.origin)
        for e in Entity.objects.filter(workspace_id=workspace_id)
    ]


def _kg_relations(workspace_id: int) -> list[KgRelation]:
    return [
        KgRelation(r.head.key, r.tail.key, r.relation, r.weight, r.origin)
        for r in Relation.objects.filter(workspace_id=workspace_id).select_related("head", "tail")
    ]


def knowledge_graph_load(*, workspace_id: int) -> KnowledgeGraph:
    """The graph as stored: entities, relations, and which chunks mention which entity."""
    mentions = [
        Mention(key, chunk_id)
        for chunk_id, keys in KnowledgeChunk.objects.filter(workspace_id=workspace_id).values_list(
            "chunk_id", "entity_keys"
        )
        for key in keys
    ]
    return build_graph(_kg_entities(workspace_id), _kg_relations(workspace_id), mentions)


def knowledge_graph_build(*, workspace_id: int, epochs: int = 100) -> dict[str, float]:
    """Finds entities in the chunks, stores them with co-occurrence relations, trains GraphSAGE
    and stores node embeddings. Safe to run twice: discovered rows are replaced."""
    rows = list(KnowledgeChunk.objects.filter(workspace_id=workspace_id))
    curated = [
        KgEntity(e.key, e.name, e.kind, tuple(e.aliases), e.origin)
        for e in Entity.objects.filter(workspace_id=workspace_id, origin=Entity.Origin.CURATED)
    ]
    texts = [
        (r.chunk_id, " > ".join(r.heading_path) + "\n" + r.text if r.heading_path else r.text)
        for r in rows
    ]
    entities, mentions = extract_mentions(texts, curated)
    curated_relations = [
        r for r in _kg_relations(workspace_id) if r.origin == Relation.Origin.CURATED
    ]
    built = build_and_train(
        entities, curated_relations, mentions, dense_encoder().encode, SageConfig(epochs=epochs)
    )
    keys_of: dict[str, list[str]] = {}
    for mention in mentions:
        keys_of.setdefault(mention.chunk_id, []).append(mention.entity_id)
    with transaction.atomic():
        Entity.objects.filter(workspace_id=workspace_id).exclude(
            origin=Entity.Origin.CURATED
        ).delete()
        Entity.objects.bulk_create(
            [
                Entity(
                    workspace_id=workspace_id,
                    key=e.entity_id,
                    name=e.name[:200],
                    kind=e.kind,
                    origin=e.origin,
                )
                for e in entities
                if e.origin != Entity.Origin.CURATED
            ]
        )
        by_key = dict(Entity.objects.filter(workspace_id=workspace_id).values_list("key", "pk"))
        Relation.objects.filter(
            workspace_id=workspace_id, origin=Relation.Origin.COOCCURRENCE
        ).delete()
        Relation.objects.bulk_create(
            [
                Relation(
                    workspace_id=workspace_id,
                    head_id=by_key[a],
                    tail_id=by_key[b],
                    relation=data.get("relation", "co_occurs"),
                    weight=float(data.get("weight", 1.0)),
                    origin=Relation.Origin.COOCCURRENCE,
                )
                for a, b, data in built.kg.graph.edges(data=True)
                if data.get("origin") == "cooccurrence" and a in by_key and b in by_key
            ],
            ignore_conflicts=True,
        )
        for row in rows:
            row.entity_keys = keys_of.get(row.chunk_id, [])
        KnowledgeChunk.objects.bulk_update(rows, ["entity_keys"], batch_size=500)
    save_model(built.model, str(graph_model_path(workspace_id)))
    names = {e.entity_id: e.name for e in entities}
    node_store(workspace_id).save(built.embeddings, built.features, names)
    stats = {
        "entities": len(entities),
        "edges": built.kg.graph.number_of_edges(),
        "epochs": built.report.epochs,
        "train_seconds": round(built.report.seconds, 2),
        "loss_first": round(built.report.first_loss, 4),
        "loss_last": round(built.report.last_loss, 4),
    }
    KnowledgeState.objects.update_or_create(
        workspace_id=workspace_id,
        defaults={"graph_built_at": timezone.now(), "graph_stats": stats},
    )
    knowledge_version_bump(workspace_id=workspace_id)
    logger.info("knowledge graph built workspace=%s entities=%s", workspace_id, len(entities))
    return stats


def entity_neighbourhood(*, entity: Entity, hops: int = 1, limit: int = 25) -> dict[str, object]:
    """Nodes and edges around an entity, for the editor's small graph view."""
    kg = knowledge_graph_load(workspace_id=entity.workspace_id)
    sub: nx.Graph = neighbourhood(kg, entity.key, hops=hops, limit=limit)
    ids = dict(
        Entity.objects.filter(
            workspace_id=entity.workspace_id, key__in=list(sub.nodes)
        ).values_list("key", "pk")
    )
    return {
        "center": entity.key,
        "nodes": [
            {
                "key": node,
                "id": ids.get(node),
                "name": data.get("name", node),
                "kind": data.get("kind", ""),
                "chunks": len(kg.chunks_of.get(node, ())),
            }
            for node, data in sub.nodes(data=True)
        ],
        "edges": [
            {
                "source": a,
                "target": b,
                "relation": data.get("relation", ""),
                "origin": data.get("origin", ""),
                "weight": data.get("weight", 1.0),
            }
            for a, b, data in sub.edges(data=True)
        ],
    }
