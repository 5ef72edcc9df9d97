"""HTML pages: the landing page and the demo site that hosts the customer widget."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.models import Workspace


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/landing.html", {"demo_pages": settings.DEMO_PAGES_ENABLED})


def demo(request: HttpRequest, workspace_slug: str = "demo") -> HttpResponse:
    """A stand-in for a company's own site: the page a company pastes the widget tag into.

    Only where DEMO_PAGES_ENABLED (the embedded default): in a shared deployment it would tell
    anyone which workspaces exist.
    """
    if not settings.DEMO_PAGES_ENABLED:
        raise Http404("Demo pages are switched off.")
    workspace = Workspace.objects.filter(slug=workspace_slug).first()
    if workspace is None:
        raise Http404(f"No workspace {workspace_slug!r}. Run `python manage.py demo_seed` first.")
    return render(request, "pages/demo.html", {"workspace": workspace})
