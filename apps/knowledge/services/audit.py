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
    state, _ = KnowledgeState.objects.get_or_create(workspace_id=workspace_id)
    KnowledgeState.objects.filter(pk=state.pk).update(version=state.version + 1)
    return state.version + 1


def knowledge_version(*, workspace_id: int) -> int:
    state = KnowledgeState.objects.filter(workspace_id=workspace_id).first()
    return state.version if state else 0
