"""The learning loop's Celery beat schedule (django-celery-beat, in the database):

- ``mlops-retrain-nlu-<workspace id>``: the workspace's retraining, on its release policy's
  ``nlu_schedule`` (cron), kept in step by ``release_policy_update`` and ``schedules_sync``;
- ``mlops-canary-check``: every running canary looked at, daily;
- ``mlops-schedules-sync``: daily, every workspace's retraining schedule created or corrected
  (a new workspace gets its own the next day, or at once when its policy is saved);
- ``review-harvest``: the review queue harvested nightly, before the retrainings.

The last three come with migration 0004. Beat reads changes without a restart.
"""

from typing import Any

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from apps.accounts.models import Workspace
from apps.mlops.models import ReleasePolicy
from apps.mlops.services import policy_get

RETRAIN_TASK = "apps.mlops.tasks.mlops_retrain"


def retrain_task_name(*, workspace_id: int, kind: str = "nlu") -> str:
    return f"mlops-retrain-{kind}-{workspace_id}"


def crontab_get(*, cron: str) -> CrontabSchedule:
    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone="UTC",
    )
    return schedule


def schedule_sync(*, workspace: Workspace) -> PeriodicTask:
    """Creates or updates the workspace's retraining task from its policy's cron."""
    policy = policy_get(workspace=workspace)
    with transaction.atomic():
        task, _ = PeriodicTask.objects.update_or_create(
            name=retrain_task_name(workspace_id=workspace.pk),
            defaults={
                "task": RETRAIN_TASK,
                "crontab": crontab_get(cron=policy.nlu_schedule),
                "interval": None,
                "args": f"[{workspace.pk}]",
                "enabled": True,
            },
        )
    return task


def schedules_sync() -> int:
    """Every workspace's retraining task in step with its policy; tasks of deleted workspaces
    removed. Returns how many workspaces are scheduled."""
    ids = list(Workspace.objects.values_list("id", flat=True))
    for workspace in Workspace.objects.all():
        schedule_sync(workspace=workspace)
    stale = PeriodicTask.objects.filter(task=RETRAIN_TASK).exclude(
        name__in=[retrain_task_name(workspace_id=i) for i in ids]
    )
    stale.delete()
    return len(ids)


def release_policy_update(*, workspace: Workspace, **fields: Any) -> ReleasePolicy:
    """Changes the workspace's release policy (validated) and its beat schedule with it."""
    policy = policy_get(workspace=workspace)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.full_clean()
    with transaction.atomic():
        policy.save()
        schedule_sync(workspace=workspace)
    return policy
