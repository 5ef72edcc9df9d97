"""The operator's review page (one page; it reads and writes through the review API)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.selectors import workspace_list_for_user
from apps.core.exceptions import ApplicationError
from apps.nlu.selectors import intent_list
from apps.review.permissions import review_workspace_get
from apps.review.selectors import ADJUDICATOR_ROLES, LABELLER_ROLES


@login_required
def review_index(request: HttpRequest) -> HttpResponse:
    """Straight to the queue when the operator works for one company."""
    workspaces = [
        workspace
        for workspace in workspace_list_for_user(user=request.user)  # type: ignore[arg-type]
        if workspace.role in LABELLER_ROLES  # type: ignore[attr-defined]
    ]
    if len(workspaces) == 1:
        return redirect("review-page", workspace_slug=workspaces[0].slug)
    return render(request, "pages/review_index.html", {"workspaces": workspaces})


@login_required
def review_page(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    try:
        workspace = review_workspace_get(
            user=request.user,  # type: ignore[arg-type]
            workspace_slug=workspace_slug,
            roles=LABELLER_ROLES,
        )
    except ApplicationError as exc:
        return render(
            request, "pages/console_denied.html", {"message": exc.message}, status=exc.status
        )
    config = {
        "api": f"/api/v1/workspaces/{workspace.slug}/review/",
        "intents": sorted(intent_list(workspace=workspace).values_list("name", flat=True)),
        "is_admin": workspace.role in ADJUDICATOR_ROLES,  # type: ignore[attr-defined]
        "language": workspace.language,
    }
    return render(request, "pages/review.html", {"workspace": workspace, "review_config": config})
