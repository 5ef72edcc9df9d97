from django.apps import AppConfig


class DialogueConfig(AppConfig):
    name = "apps.dialogue"
    label = "dialogue"
    verbose_name = "Dialogue"

    def ready(self) -> None:
        from apps.chat import hooks as chat
        from apps.dialogue import hooks, selectors, services, tasks

        chat.turn_start.connect(services.turn_start)
        chat.turn_dispatch.connect(services.turn_dispatch)
        chat.turn_notes.connect(selectors.turn_notes)
        hooks.trace_explain_queue.connect(tasks.trace_explain_task.delay)
