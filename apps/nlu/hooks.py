"""What nlu's services queue: NluConfig.ready connects each hook to its task (tasks import
services, so services reach them only through here)."""

from apps.core.hooks import Hook


@Hook
def training_run_queue(run_id: int) -> None:
    """Queues a training run (``tasks.nlu_train``)."""
    raise NotImplementedError


@Hook
def oos_refit_queue(workspace_id: int) -> None:
    """Queues a refit of the active model's out-of-scope threshold (``tasks.nlu_oos_refit``)."""
    raise NotImplementedError
