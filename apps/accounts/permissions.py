"""DRF permission that scopes a view to one of the caller's workspaces.

A view under ``workspaces/<workspace_slug>/...`` declares what each HTTP method needs::

    permission_classes = [IsAuthenticated, HasWorkspaceCapability]
    capabilities = {"GET": Capability.CONVERSATIONS_READ}

The permission resolves the slug among the caller's memberships only (another company's
workspace is "not found", never "forbidden") and leaves it on ``view.workspace``; the view then
builds every query from that workspace.
"""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.accounts.models import User
from apps.accounts.roles import Capability
from apps.accounts.selectors import workspace_get_for_capability


class HasWorkspaceCapability(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        capabilities: dict[str, Capability] = view.capabilities
        capability = capabilities.get(method or "")
        if capability is None:
            # No handler for the method: let the view answer 405. A handler with no declared
            # capability is a mistake and is refused.
            return not hasattr(view, (method or "").lower())
        user = request.user
        if not isinstance(user, User):
            return False
        view.workspace = workspace_get_for_capability(
            user=user, workspace_slug=view.kwargs["workspace_slug"], capability=capability
        )
        return True
