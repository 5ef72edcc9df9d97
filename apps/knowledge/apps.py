from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "apps.knowledge"
    label = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.knowledge import hooks, tasks

        hooks.article_index_queue.connect(tasks.article_index_task.delay)
        hooks.document_ingest_queue.connect(tasks.document_ingest_task.delay)
        hooks.source_remove_queue.connect(tasks.source_remove_task.delay)
