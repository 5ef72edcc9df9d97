"""What each role may do in its workspace. Checked by ``permissions.HasWorkspaceCapability``."""

from enum import StrEnum

from apps.accounts.models import Role


class Capability(StrEnum):
    WORKSPACE_READ = "workspace.read"
    WORKSPACE_MANAGE = "workspace.manage"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    CONVERSATIONS_READ = "conversations.read"
    CONVERSATIONS_HANDLE = "conversations.handle"
    KNOWLEDGE_READ = "knowledge.read"
    KNOWLEDGE_MANAGE = "knowledge.manage"
    NLU_READ = "nlu.read"
    NLU_MANAGE = "nlu.manage"
    # The model registry (apps.mlops): versions, decisions; promote and roll back.
    MODELS_READ = "models.read"
    MODELS_MANAGE = "models.manage"


_EVERY_MEMBER = {Capability.WORKSPACE_READ, Capability.MEMBERS_READ}

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability),
    Role.OPERATOR: frozenset(
        _EVERY_MEMBER
        | {
            Capability.KNOWLEDGE_READ,
            Capability.KNOWLEDGE_MANAGE,
            Capability.NLU_READ,
            Capability.NLU_MANAGE,
            Capability.MODELS_READ,
        }
    ),
    Role.AGENT: frozenset(
        _EVERY_MEMBER | {Capability.CONVERSATIONS_READ, Capability.CONVERSATIONS_HANDLE}
    ),
    Role.ANALYST: frozenset(_EVERY_MEMBER | {Capability.CONVERSATIONS_READ, Capability.NLU_READ}),
}


def role_allows(role: str, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES.get(role, frozenset())
