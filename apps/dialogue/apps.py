from django.apps import AppConfig


class DialogueConfig(AppConfig):
    name = "apps.dialogue"
    label = "dialogue"
    verbose_name = "Dialogue"

    def ready(self) -> None:
        from apps.dialogue import hooks, tasks

        hooks.trace_explain_queue.connect(tasks.trace_explain_task.delay)
