from celery import shared_task

from apps.accounts.models import Workspace
from apps.review.services.harvest import review_harvest


@shared_task(acks_late=True)
def review_harvest_workspace(workspace_id: int) -> int:
    """Queues a workspace's unsure turns and refreshes its weak labels (running it twice changes
    nothing); returns how many items it created."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return 0
    return review_harvest(workspace=workspace).created


@shared_task(acks_late=True)
def review_harvest_all() -> int:
    """For Celery beat: one harvest task per workspace."""
    ids = list(Workspace.objects.values_list("id", flat=True))
    for workspace_id in ids:
        review_harvest_workspace.delay(workspace_id)
    return len(ids)
