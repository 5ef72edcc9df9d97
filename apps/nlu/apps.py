from django.apps import AppConfig


class NluConfig(AppConfig):
    name = "apps.nlu"
    label = "nlu"
    verbose_name = "NLU (intents and models)"

    def ready(self) -> None:
        from apps.nlu import hooks, tasks

        hooks.training_run_queue.connect(tasks.nlu_train.delay)
        hooks.oos_refit_queue.connect(tasks.nlu_oos_refit.delay)
