"""``knowledge_retrieve``: what the bot and the hit test page use. Passages go through the
injection detector as documents: flagged ones are marked, ones matching a known attack rule are
left out."""

import threading
from collections.abc import Sequence

import numpy as np

from apps.accounts.models import Workspace
from apps.knowledge.models import Article, KnowledgeChunk
from apps.knowledge.services.audit import knowledge_version
from apps.knowledge.services.graph import knowledge_graph_load, node_store
from apps.knowledge.services.runtime import chunk_index, dense_encoder, graph_model_path
from apps.safety.services import injection_check
from knowledge_graph.build import graph_channel
from knowledge_graph.channel import GraphChannel
from knowledge_graph.sage import embed, graph_tensors, load_model
from ml.retrieval.contracts import CHANNELS, RetrievedPassage
from ml.retrieval.retriever import HybridRetriever

_channels: dict[int, tuple[int, GraphChannel | None]] = {}
_lock = threading.Lock()


def _graph_channel(workspace_id: int) -> GraphChannel | None:
    """The workspace's graph channel, rebuilt when its knowledge changed. Entities added since
    the last training get GraphSAGE embeddings from the trained model (no retraining)."""
    version = knowledge_version(workspace_id=workspace_id)
    with _lock:
        cached = _channels.get(workspace_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    kg = knowledge_graph_load(workspace_id=workspace_id)
    channel: GraphChannel | None = None
    if kg.graph.number_of_nodes():
        _, features = node_store(workspace_id).load()
        missing = [n for n in kg.graph.nodes if n not in features]
        if missing:
            vectors = dense_encoder().encode([kg.entities[n].name for n in missing])
            features.update({n: vectors[i] for i, n in enumerate(missing)})
        path = graph_model_path(workspace_id)
        if path.exists():
            embeddings = embed(load_model(str(path)), graph_tensors(kg, features))
        else:  # no graph trained yet: the encoder's name vectors stand in
            embeddings = {n: features[n] / (np.linalg.norm(features[n]) or 1.0) for n in kg.graph}
        channel = graph_channel(kg, features, embeddings)
    with _lock:
        _channels[workspace_id] = (version, channel)
    return channel


def _passage_check(text: str) -> tuple[bool, bool, tuple[str, ...]]:
    verdict = injection_check(text=text, source="document")
    # A known attack pattern is left out; the classifier's suspicion marks the passage.
    return (verdict.is_injection and bool(verdict.rules), verdict.is_injection, verdict.rules)


def knowledge_retrieve(
    *,
    workspace: Workspace,
    query: str,
    k: int = 5,
    channels: Sequence[str] = CHANNELS,
    context: Sequence[str] = (),
    intent: str | None = None,
) -> list[RetrievedPassage]:
    """``intent``: the question's intent, when the bot knows it; the published articles that
    answer it come first."""
    retriever = HybridRetriever(
        chunk_index(workspace),
        dense_encoder(),
        graph=_graph_channel(workspace.pk) if "graph" in channels else None,
        passage_check=_passage_check,
    )
    prefer = _intent_chunks(workspace, intent) if intent else []
    return retriever.retrieve(
        query, k, channels=channels, context=context, prefer=prefer, prefer_why=intent or ""
    )


def chunk_intents(workspace: Workspace, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
    """The intents the article of each chunk says it answers."""
    rows = KnowledgeChunk.objects.filter(
        workspace=workspace, chunk_id__in=list(chunk_ids), article__isnull=False
    ).values_list("chunk_id", "article__intents")
    return {chunk_id: list(intents or ()) for chunk_id, intents in rows}


def intent_answered(workspace: Workspace, intent: str) -> bool:
    """Whether a published article says it answers the intent."""
    return bool(_intent_chunks(workspace, intent))


def _intent_chunks(workspace: Workspace, intent: str) -> list[str]:
    """The indexed chunks of the workspace's published articles that answer ``intent``."""
    # JSON containment has no SQLite lookup; the list of intents per article is short.
    linked = (
        Article.objects.filter(workspace=workspace, status=Article.Status.PUBLISHED)
        .exclude(intents=[])
        .values_list("pk", "intents")
    )
    articles = [pk for pk, intents in linked if intent in (intents or ())]
    if not articles:
        return []
    return list(
        KnowledgeChunk.objects.filter(workspace=workspace, article_id__in=articles).values_list(
            "chunk_id", flat=True
        )
    )


def title_similarity(query: str, titles: Sequence[str]) -> list[float]:
    """Cosine similarity of the question to each title (the shared sentence encoder)."""
    if not titles:
        return []
    vectors = dense_encoder().encode([query, *titles])
    return [float(v) for v in np.asarray(vectors[1:]) @ np.asarray(vectors[0])]
