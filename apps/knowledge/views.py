"""The operator's knowledge page: articles, uploads, hit test, entities (one page, JS tabs)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.roles import Capability, role_allows
from apps.accounts.selectors import workspace_get_for_capability, workspace_list_for_user
from apps.core.exceptions import ApplicationError


@login_required
def knowledge_index(request: HttpRequest) -> HttpResponse:
    """Straight to the knowledge page when the operator works for one company."""
    workspaces = [
        workspace
        for workspace in workspace_list_for_user(user=request.user)  # type: ignore[arg-type]
        if role_allows(workspace.role, Capability.KNOWLEDGE_MANAGE)  # type: ignore[attr-defined]
    ]
    if len(workspaces) == 1:
        return redirect("knowledge-admin", workspace_slug=workspaces[0].slug)
    return render(request, "pages/knowledge_index.html", {"workspaces": workspaces})


@login_required
def knowledge_admin(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    try:
        workspace = workspace_get_for_capability(
            user=request.user,  # type: ignore[arg-type]
            workspace_slug=workspace_slug,
            capability=Capability.KNOWLEDGE_MANAGE,
        )
    except ApplicationError as exc:
        return render(
            request, "pages/console_denied.html", {"message": exc.message}, status=exc.status
        )
    config = {"api": f"/api/v1/workspaces/{workspace.slug}/knowledge/"}
    return render(
        request, "pages/knowledge.html", {"workspace": workspace, "knowledge_config": config}
    )
