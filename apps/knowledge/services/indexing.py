"""Chunks into the workspace's Qdrant collection. Chunk text is redacted before it is stored or
indexed (the article keeps its original for operators): only the personal data that a company's
help content can hold by mistake (``apps.safety.services.knowledge_text_redact``), and what was
found is reported to the operator per source."""

import logging
from collections.abc import Callable, Sequence

from django.db import transaction

from apps.accounts.models import Workspace
from apps.knowledge.models import Article, Document, Entity, KnowledgeChunk
from apps.knowledge.services.audit import knowledge_version_bump
from apps.knowledge.services.runtime import chunk_index, dense_encoder, sparse_encoder
from apps.safety.services import (
    knowledge_pii_forget,
    knowledge_pii_record,
    knowledge_text_redact,
    policy_get,
)
from knowledge_graph.contracts import Entity as KgEntity
from knowledge_graph.extract import EntityDictionary
from ml.retrieval.chunking import chunk_sections
from ml.retrieval.contracts import Chunk
from ml.retrieval.parsing import parse_markdown

logger = logging.getLogger(__name__)
Progress = Callable[[int], None]


def chunks_redact(
    *, workspace: Workspace, chunks: Sequence[Chunk]
) -> tuple[list[Chunk], dict[str, int]]:
    """Chunks with private data replaced (the workspace's redaction settings, knowledge rules:
    never a name, place, product or template variable), and what was found, by type."""
    policy = policy_get(workspace=workspace)
    counts: dict[str, int] = {}
    placeholders: dict[str, str] = {}
    redacted: list[Chunk] = []
    for chunk in chunks:
        result = knowledge_text_redact(policy=policy, text=chunk.text, placeholders=placeholders)
        placeholders = result.placeholders
        for entity, count in result.counts.items():
            counts[entity] = counts.get(entity, 0) + count
        heading = tuple(
            knowledge_text_redact(policy=policy, text=h, placeholders=placeholders).text
            for h in chunk.heading_path
        )
        redacted.append(
            Chunk(
                chunk_id=chunk.chunk_id,
                doc_id=chunk.doc_id,
                text=result.text,
                heading_path=heading,
                source=chunk.source,
                position=chunk.position,
                title=chunk.title,
            )
        )
    return redacted, counts


def entity_dictionary(*, workspace_id: int) -> EntityDictionary:
    entities = [
        KgEntity(e.key, e.name, e.kind, tuple(e.aliases), e.origin)
        for e in Entity.objects.filter(workspace_id=workspace_id)
    ]
    return EntityDictionary(entities)


def chunks_mentions(*, workspace_id: int, chunks: Sequence[Chunk]) -> list[Chunk]:
    """Chunks with the known entities they name (dictionary match; the graph build adds spaCy)."""
    dictionary = entity_dictionary(workspace_id=workspace_id)
    out = []
    for chunk in chunks:
        keys = tuple(dict.fromkeys(e for e, _, _ in dictionary.find(chunk.indexed_text)))
        out.append(
            Chunk(
                chunk.chunk_id,
                chunk.doc_id,
                chunk.text,
                chunk.heading_path,
                chunk.source,
                chunk.position,
                chunk.title,
                keys,
            )
        )
    return out


def chunks_embed_and_store(
    *,
    workspace_id: int,
    chunks: Sequence[Chunk],
    generation: str | None = None,
    progress: Progress | None = None,
) -> None:
    """Dense and sparse vectors for the chunks, upserted into the collection, in batches."""
    index = chunk_index(workspace_id)
    encoder, sparse = dense_encoder(), sparse_encoder()
    batch = 64
    for start in range(0, len(chunks), batch):
        part = list(chunks[start : start + batch])
        texts = [c.indexed_text for c in part]
        index.upsert(
            part,
            encoder.encode(texts),
            [sparse.encode_document(t) for t in texts],
            generation=generation,
        )
        if progress is not None:
            progress(min(len(chunks), start + batch) * 100 // max(len(chunks), 1))


def _chunk_rows(
    *,
    workspace_id: int,
    chunks: Sequence[Chunk],
    article: Article | None,
    document: Document | None,
) -> list[KnowledgeChunk]:
    return [
        KnowledgeChunk(
            workspace_id=workspace_id,
            chunk_id=c.chunk_id,
            doc_key=c.doc_id,
            article=article,
            document=document,
            position=c.position,
            title=c.title,
            text=c.text,
            heading_path=list(c.heading_path),
            source=c.source,
            entity_keys=list(c.entity_ids),
        )
        for c in chunks
    ]


def source_replace(
    *,
    workspace: Workspace,
    doc_key: str,
    chunks: Sequence[Chunk],
    article: Article | None = None,
    document: Document | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Indexes the source's chunks in place of what it had (redacted first). New chunks are
    written before stale ones are removed, so the source never drops out of search meanwhile.
    Returns the personal data found, by type."""
    redacted, pii = chunks_redact(workspace=workspace, chunks=chunks)
    redacted = chunks_mentions(workspace_id=workspace.pk, chunks=redacted)
    index = chunk_index(workspace)
    try:
        chunks_embed_and_store(workspace_id=workspace.pk, chunks=redacted, progress=progress)
    except Exception:
        # Nothing half-indexed stays searchable.
        index.delete_chunks([c.chunk_id for c in redacted])
        raise
    keep = {c.chunk_id for c in redacted}
    stale = list(
        KnowledgeChunk.objects.filter(workspace=workspace, doc_key=doc_key)
        .exclude(chunk_id__in=keep)
        .values_list("chunk_id", flat=True)
    )
    index.delete_chunks(stale)
    with transaction.atomic():
        KnowledgeChunk.objects.filter(workspace=workspace, doc_key=doc_key).delete()
        KnowledgeChunk.objects.bulk_create(
            _chunk_rows(
                workspace_id=workspace.pk, chunks=redacted, article=article, document=document
            )
        )
    knowledge_version_bump(workspace_id=workspace.pk)
    knowledge_pii_record(workspace=workspace, doc_key=doc_key, counts=pii)
    return pii


def source_remove(*, workspace_id: int, doc_key: str) -> None:
    """Removes a source's chunks from the index and the database (idempotent)."""
    chunk_index(workspace_id).delete_doc(doc_key)
    KnowledgeChunk.objects.filter(workspace_id=workspace_id, doc_key=doc_key).delete()
    knowledge_pii_forget(workspace_id=workspace_id, doc_key=doc_key)
    knowledge_version_bump(workspace_id=workspace_id)


def article_chunks(article: Article) -> list[Chunk]:
    if article.kind == Article.Kind.FAQ:
        from ml.retrieval.contracts import Section

        sections = [Section(heading_path=(article.title,), text=article.body)]
    else:
        sections = parse_markdown(article.body, article.title)
    return chunk_sections(
        sections, doc_id=article.doc_key, source=article.source_url, title=article.title
    )


def article_index(*, article_id: int) -> None:
    """Makes the index match the article: its chunks if published, none otherwise."""
    article = Article.objects.select_related("workspace").filter(pk=article_id).first()
    if article is None:
        return
    if article.status != Article.Status.PUBLISHED:
        source_remove(workspace_id=article.workspace_id, doc_key=article.doc_key)
        return
    source_replace(
        workspace=article.workspace,
        doc_key=article.doc_key,
        chunks=article_chunks(article),
        article=article,
    )


def stored_chunks(*, workspace_id: int) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=row.chunk_id,
            doc_id=row.doc_key,
            text=row.text,
            heading_path=tuple(row.heading_path),
            source=row.source,
            position=row.position,
            title=row.title,
            entity_ids=tuple(row.entity_keys),
        )
        for row in KnowledgeChunk.objects.filter(workspace_id=workspace_id).order_by("id")
    ]


def knowledge_reindex(*, workspace_id: int) -> int:
    """Rebuilds the whole index into a new generation and switches the alias to it: a search
    sees the old index until the new one is complete. Returns the number of chunks."""
    index = chunk_index(workspace_id)
    chunks = chunks_mentions(
        workspace_id=workspace_id, chunks=stored_chunks(workspace_id=workspace_id)
    )
    generation = index.create_generation()
    try:
        chunks_embed_and_store(workspace_id=workspace_id, chunks=chunks, generation=generation)
    except Exception:
        index.drop_generation(generation)
        raise
    index.switch_to(generation)
    knowledge_version_bump(workspace_id=workspace_id)
    logger.info("knowledge reindexed workspace=%s chunks=%s", workspace_id, len(chunks))
    return len(chunks)
