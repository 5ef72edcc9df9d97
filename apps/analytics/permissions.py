"""Who reads a workspace's analytics: its analysts and admins.

Another company's workspace is "not found" (404), never "forbidden"; a member of the workspace in
another role is refused (403). The view gets the workspace on ``view.workspace``.
"""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.accounts.models import Role, User, Workspace
from apps.accounts.selectors import membership_get
from apps.core.exceptions import Forbidden

ANALYTICS_ROLES = frozenset({Role.ADMIN, Role.ANALYST})


def analytics_workspace_get(*, user: User, workspace_slug: str) -> Workspace:
    membership = membership_get(user=user, workspace_slug=workspace_slug)
    if membership.role not in ANALYTICS_ROLES:
        raise Forbidden(f"Your role ({membership.role}) does not allow analytics.")
    workspace = membership.workspace
    workspace.role = membership.role  # type: ignore[attr-defined]
    return workspace


class IsWorkspaceAnalyst(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User):
            return False
        view.workspace = analytics_workspace_get(
            user=user, workspace_slug=view.kwargs["workspace_slug"]
        )
        return True
