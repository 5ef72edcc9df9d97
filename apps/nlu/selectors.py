"""Reads for intents, examples and training runs, always within one workspace."""

from django.db.models import Count, QuerySet

from apps.accounts.models import Workspace
from apps.core.exceptions import NotFound
from apps.nlu.models import Intent, TrainingExample, TrainingRun


def intent_list(*, workspace: Workspace) -> QuerySet[Intent]:
    return Intent.objects.filter(workspace=workspace).annotate(example_count=Count("examples"))


def intent_get(*, workspace: Workspace, name: str) -> Intent:
    intent = Intent.objects.filter(workspace=workspace, name=name).first()
    if intent is None:
        raise NotFound(f"no intent {name!r} in this workspace")
    return intent


def example_list(*, workspace: Workspace, intent: str | None = None) -> QuerySet[TrainingExample]:
    rows = TrainingExample.objects.filter(workspace=workspace).select_related("intent")
    if intent:
        rows = rows.filter(intent__name=intent)
    return rows.order_by("-created_at")


def run_list(*, workspace: Workspace) -> QuerySet[TrainingRun]:
    return TrainingRun.objects.filter(workspace=workspace)


def run_get(*, workspace: Workspace, run_id: int) -> TrainingRun:
    run = TrainingRun.objects.filter(workspace=workspace, pk=run_id).first()
    if run is None:
        raise NotFound("no such training run in this workspace")
    return run


def active_run(*, workspace: Workspace) -> TrainingRun | None:
    return TrainingRun.objects.filter(workspace=workspace, is_active=True).first()
