"""What knowledge's services queue: KnowledgeConfig.ready connects each hook to its task (tasks
import services, so services reach them only through here)."""

from apps.core.hooks import Hook


@Hook
def article_index_queue(article_id: int) -> None:
    """Queues the indexing of an article (``tasks.article_index_task``)."""
    raise NotImplementedError


@Hook
def document_ingest_queue(document_id: int) -> None:
    """Queues a document's ingestion: parse, scan, chunk, index (``tasks.document_ingest_task``)."""
    raise NotImplementedError


@Hook
def source_remove_queue(workspace_id: int, doc_key: str) -> None:
    """Queues removing a deleted source's chunks from the index (``tasks.source_remove_task``)."""
    raise NotImplementedError
