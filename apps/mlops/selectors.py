"""Reads of the model registry, always within one workspace."""

from django.db.models import QuerySet

from apps.accounts.models import Workspace
from apps.core.exceptions import NotFound
from apps.mlops.models import Decision, ModelVersion


def version_list(*, workspace: Workspace, kind: str | None = None) -> QuerySet[ModelVersion]:
    """The workspace's versions, newest first (per kind when given)."""
    rows = ModelVersion.objects.filter(workspace=workspace).select_related("triggered_by")
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-created_at", "-id")


def version_get(*, workspace: Workspace, version_id: int) -> ModelVersion:
    version = (
        ModelVersion.objects.filter(workspace=workspace, pk=version_id)
        .select_related("triggered_by")
        .first()
    )
    if version is None:
        raise NotFound("no such model version in this workspace")
    return version


def decision_list(*, workspace: Workspace, kind: str | None = None) -> QuerySet[Decision]:
    """The workspace's decision log, newest first."""
    rows = Decision.objects.filter(workspace=workspace).select_related(
        "version", "replaced", "user"
    )
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-created_at", "-id")
