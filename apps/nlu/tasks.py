from celery import shared_task

from apps.nlu.services import training_run_execute


@shared_task(acks_late=True)
def nlu_train(run_id: int) -> str:
    """Trains a workspace's NLU model for a queued run (a second delivery does nothing)."""
    return training_run_execute(run_id=run_id).status


@shared_task(acks_late=True)
def nlu_explain_trace(trace_id: int) -> bool:
    """Adds SHAP token attributions to a turn trace (safe to run twice: it overwrites)."""
    from apps.nlu.services import trace_explain

    return trace_explain(trace_id=trace_id) is not None
