"""Dialogue tasks: take ids, call a service, safe to run twice, acknowledged after they finish."""

from celery import shared_task

from apps.dialogue.services import trace_explain


@shared_task(acks_late=True)
def trace_explain_task(trace_id: int) -> bool:
    """Adds SHAP token attributions to a turn trace (safe to run twice: it overwrites)."""
    return trace_explain(trace_id=trace_id) is not None
