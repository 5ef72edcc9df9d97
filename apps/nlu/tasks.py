from celery import shared_task

from apps.nlu.services import oos_threshold_refit, training_run_execute


@shared_task(acks_late=True)
def nlu_train(run_id: int) -> str:
    """Trains a workspace's NLU model for a queued run (a second delivery does nothing)."""
    return training_run_execute(run_id=run_id).status


@shared_task(acks_late=True)
def nlu_oos_refit(workspace_id: int) -> float | None:
    """Refits the workspace's out-of-scope threshold on its out-of-scope examples (idempotent:
    a second delivery fits the same examples again)."""
    return oos_threshold_refit(workspace_id=workspace_id)
