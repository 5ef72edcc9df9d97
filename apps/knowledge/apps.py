from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "apps.knowledge"
    label = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.knowledge import hooks

        hooks.article_index_queue.connect(_article_index_queue)
        hooks.document_ingest_queue.connect(_document_ingest_queue)
        hooks.source_remove_queue.connect(_source_remove_queue)


# The tasks module loads the graph and index libraries (torch: seconds), so it is imported when a
# task is first queued, not by every process that sets Django up (migrate, a shell, a test run).


def _article_index_queue(article_id: int) -> None:
    from apps.knowledge.tasks import article_index_task

    article_index_task.delay(article_id)


def _document_ingest_queue(document_id: int) -> None:
    from apps.knowledge.tasks import document_ingest_task

    document_ingest_task.delay(document_id)


def _source_remove_queue(workspace_id: int, doc_key: str) -> None:
    from apps.knowledge.tasks import source_remove_task

    source_remove_task.delay(workspace_id, doc_key)
