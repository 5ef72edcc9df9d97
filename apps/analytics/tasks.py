from celery import shared_task

from apps.accounts.models import Workspace
from apps.analytics.services import analytics_refresh


@shared_task(acks_late=True)
def analytics_refresh_workspace(workspace_id: int) -> int:
    """Brings one workspace's facts and rollups up to date (running it twice changes nothing)."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return 0
    return analytics_refresh(workspace=workspace).conversations


@shared_task(acks_late=True)
def analytics_refresh_all() -> int:
    """Celery beat, every few minutes: one refresh task per workspace."""
    ids = list(Workspace.objects.values_list("id", flat=True))
    for workspace_id in ids:
        analytics_refresh_workspace.delay(workspace_id)
    return len(ids)
