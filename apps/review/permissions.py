"""Who may do what in a workspace's review queue (roles in ``apps.review.selectors``).

Another company's workspace is "not found" (404), never "forbidden"; a member of the workspace in
another role is refused (403). A view declares the roles per method (``roles``) and gets the
workspace on ``view.workspace``.
"""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.accounts.models import User, Workspace
from apps.accounts.selectors import membership_get
from apps.core.exceptions import Forbidden


def review_workspace_get(*, user: User, workspace_slug: str, roles: frozenset[str]) -> Workspace:
    membership = membership_get(user=user, workspace_slug=workspace_slug)
    if membership.role not in roles:
        raise Forbidden(f"Your role ({membership.role}) may not do this in the review queue.")
    workspace = membership.workspace
    workspace.role = membership.role  # type: ignore[attr-defined]
    return workspace


class HasReviewRole(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        roles: frozenset[str] | None = view.roles.get(method or "")
        if roles is None:
            return not hasattr(view, (method or "").lower())
        user = request.user
        if not isinstance(user, User):
            return False
        view.workspace = review_workspace_get(
            user=user, workspace_slug=view.kwargs["workspace_slug"], roles=roles
        )
        return True
