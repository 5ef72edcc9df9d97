"""The operator's knowledge page: articles, uploads, hit test, entities (one page, JS tabs)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.roles import Capability
from apps.accounts.selectors import workspace_get_for_capability
from apps.core.exceptions import ApplicationError


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
