from celery import shared_task

from apps.accounts.models import Workspace
from apps.generation.services import NotEnoughKnowledge, adapter_train


@shared_task(acks_late=True)
def generation_train_adapter(workspace_id: int) -> str:
    """Trains a workspace's generator adapter from its knowledge base (running it twice trains
    twice; the second adapter replaces the first). Returns what happened, for the task result."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return "no such workspace"
    try:
        result = adapter_train(workspace=workspace)
    except NotEnoughKnowledge as exc:
        return str(exc)
    return f"adapter {result.name}: {result.steps} steps on {result.records} records"
