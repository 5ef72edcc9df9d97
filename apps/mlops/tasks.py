"""The learning loop's Celery tasks (scheduled by ``services.schedule``): thin, ids in, one
service call, safe to run twice (``acks_late``: a worker killed mid-task gets it again)."""

from celery import shared_task

from apps.accounts.models import Workspace
from apps.mlops.models import Kind, ModelVersion
from apps.mlops.services.canary import canary_check
from apps.mlops.services.retraining import retraining_run
from apps.mlops.services.schedule import schedules_sync


@shared_task(acks_late=True)
def mlops_retrain(workspace_id: int, kind: str = Kind.NLU) -> str:
    """One pass of the learning loop for a workspace (a second delivery while one runs does
    nothing). Returns the pass's status."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return "no workspace"
    retraining = retraining_run(
        workspace=workspace, kind=kind, trigger=ModelVersion.Trigger.SCHEDULE
    )
    return "already running" if retraining is None else retraining.status


@shared_task(acks_late=True)
def mlops_canary_check(workspace_id: int, kind: str = Kind.NLU) -> str:
    """One look at the workspace's canary; returns what it decided."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return "no workspace"
    check = canary_check(workspace=workspace, kind=kind)
    return "no canary" if check is None else check.decision


@shared_task(acks_late=True)
def mlops_canary_check_all() -> int:
    """For beat: one canary check per workspace with a running canary."""
    running = ModelVersion.objects.filter(state=ModelVersion.State.CANARY).values_list(
        "workspace_id", "kind"
    )
    pairs = sorted(set(running))
    for workspace_id, kind in pairs:
        mlops_canary_check.delay(workspace_id, kind)
    return len(pairs)


@shared_task(acks_late=True)
def mlops_schedules_sync() -> int:
    """For beat: every workspace's retraining schedule in step with its policy."""
    return schedules_sync()
