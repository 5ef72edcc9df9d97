"""Knowledge tasks: take ids, call a service, safe to run twice, acknowledged after they finish.

Each reads or writes the vector store: on the embedded one they run in the process that owns it
(``VectorTask``), never in a worker.
"""

from celery import shared_task

from apps.core.vectors import VectorTask
from apps.knowledge.services import documents, graph, indexing


@shared_task(base=VectorTask, acks_late=True)
def article_index_task(article_id: int) -> None:
    indexing.article_index(article_id=article_id)


@shared_task(base=VectorTask, acks_late=True)
def source_remove_task(workspace_id: int, doc_key: str) -> None:
    indexing.source_remove(workspace_id=workspace_id, doc_key=doc_key)


@shared_task(base=VectorTask, acks_late=True)
def document_ingest_task(document_id: int) -> None:
    documents.document_ingest(document_id=document_id)


@shared_task(base=VectorTask, acks_late=True)
def knowledge_reindex_task(workspace_id: int) -> int:
    return indexing.knowledge_reindex(workspace_id=workspace_id)


@shared_task(base=VectorTask, acks_late=True)
def knowledge_graph_build_task(workspace_id: int) -> dict[str, float]:
    return graph.knowledge_graph_build(workspace_id=workspace_id)
