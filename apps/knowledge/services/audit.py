from django.db.models import F

from apps.accounts.models import User, Workspace
from apps.knowledge.models import KnowledgeAudit, KnowledgeState


def audit_record(
    *,
    workspace: Workspace,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int,
    summary: str = "",
) -> None:
    KnowledgeAudit.objects.create(
        workspace=workspace,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary[:300],
    )


def knowledge_version_bump(*, workspace_id: int) -> int:
    """Moves the workspace's knowledge version on (atomically: two changes committed at once
    give two versions, so no cache keyed on it keeps an answer from before either)."""
    state, _ = KnowledgeState.objects.get_or_create(workspace_id=workspace_id)
    KnowledgeState.objects.filter(pk=state.pk).update(version=F("version") + 1)
    state.refresh_from_db(fields=["version"])
    return state.version


def knowledge_version(*, workspace_id: int) -> int:
    state = KnowledgeState.objects.filter(workspace_id=workspace_id).first()
    return state.version if state else 0
