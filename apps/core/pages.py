"""HTML pages: the landing page (the demo site that hosts the widget is ``accounts.views``)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/landing.html", {"demo_pages": settings.DEMO_PAGES_ENABLED})
