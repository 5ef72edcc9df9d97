"""The agent console pages."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.roles import Capability, role_allows
from apps.accounts.selectors import workspace_get_for_capability, workspace_list_for_user
from apps.core.exceptions import ApplicationError


@login_required
def console_index(request: HttpRequest) -> HttpResponse:
    """Straight to the console when the agent works for one company; a choice otherwise."""
    workspaces = [
        workspace
        for workspace in workspace_list_for_user(user=request.user)  # type: ignore[arg-type]
        if role_allows(workspace.role, Capability.CONVERSATIONS_HANDLE)  # type: ignore[attr-defined]
    ]
    if len(workspaces) == 1:
        return redirect("console", workspace_slug=workspaces[0].slug)
    return render(request, "pages/console_index.html", {"workspaces": workspaces})


@login_required
def console(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    try:
        workspace = workspace_get_for_capability(
            user=request.user,  # type: ignore[arg-type]
            workspace_slug=workspace_slug,
            capability=Capability.CONVERSATIONS_HANDLE,
        )
    except ApplicationError as exc:
        return render(
            request, "pages/console_denied.html", {"message": exc.message}, status=exc.status
        )
    config = {
        "ws_path": f"/ws/agent/{workspace.slug}/",
        "workspace": workspace.slug,
        "username": request.user.get_username(),
    }
    return render(
        request,
        "pages/console.html",
        {"workspace": workspace, "ws_path": config["ws_path"], "console_config": config},
    )
