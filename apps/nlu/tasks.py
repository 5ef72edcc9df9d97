from celery import shared_task

from apps.nlu.services import training_run_execute


@shared_task(acks_late=True)
def nlu_train(run_id: int) -> str:
    """Trains a workspace's NLU model for a queued run (a second delivery does nothing)."""
    return training_run_execute(run_id=run_id).status
