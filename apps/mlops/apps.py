"""The learning loop: the model registry (NLU models and generator adapters as versions with a
state), scheduled retraining, the evaluation gate, canary release and rollback."""

from pathlib import Path
from typing import Any

from django.apps import AppConfig


class MlopsConfig(AppConfig):
    name = "apps.mlops"
    label = "mlops"
    verbose_name = "Model registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.generation import hooks as generation
        from apps.mlops import services, serving
        from apps.mlops.services import retraining
        from apps.nlu import hooks as nlu

        def run_succeeded(run_id: int) -> None:
            services.nlu_run_finished(run_id=run_id)

        def adapter_trained(
            workspace_id: int, directory: str, data_path: str | None, metrics: dict[str, Any]
        ) -> None:
            services.adapter_trained(
                workspace_id=workspace_id,
                directory=Path(directory),
                data_path=None if data_path is None else Path(data_path),
                metrics=metrics,
            )

        nlu.serving_runs.connect(serving.nlu_serving_runs)
        nlu.training_run_succeeded.connect(run_succeeded)
        nlu.training_texts_held_out.connect(
            lambda workspace_id: retraining.frozen_texts(workspace_id=workspace_id)
        )
        nlu.artifact_rewritten.connect(
            lambda run_id: services.version_manifest_refresh(run_id=run_id)
        )
        generation.serving_adapter.connect(serving.adapter_serving)
        generation.adapter_trained.connect(adapter_trained)
