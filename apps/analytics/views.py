"""The analyst's dashboards page (one page; the charts read the analytics API)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.selectors import workspace_list_for_user
from apps.analytics.permissions import ANALYTICS_ROLES, analytics_workspace_get
from apps.core.exceptions import ApplicationError


@login_required
def analytics_index(request: HttpRequest) -> HttpResponse:
    """Straight to the dashboards when the analyst works for one company."""
    workspaces = [
        workspace
        for workspace in workspace_list_for_user(user=request.user)  # type: ignore[arg-type]
        if workspace.role in ANALYTICS_ROLES  # type: ignore[attr-defined]
    ]
    if len(workspaces) == 1:
        return redirect("analytics-page", workspace_slug=workspaces[0].slug)
    return render(request, "pages/analytics_index.html", {"workspaces": workspaces})


@login_required
def analytics_page(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    try:
        workspace = analytics_workspace_get(
            user=request.user,  # type: ignore[arg-type]
            workspace_slug=workspace_slug,
        )
    except ApplicationError as exc:
        return render(
            request, "pages/console_denied.html", {"message": exc.message}, status=exc.status
        )
    config = {
        "api": f"/api/v1/workspaces/{workspace.slug}/analytics/",
        "explain_api": f"/api/v1/workspaces/{workspace.slug}/nlu/traces/",
        "workspace": workspace.slug,
        "language": workspace.language,
    }
    return render(
        request, "pages/analytics.html", {"workspace": workspace, "analytics_config": config}
    )
