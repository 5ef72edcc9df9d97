from django.urls import path

from apps.core import pages

urlpatterns = [
    path("", pages.landing, name="landing"),
    path("demo/", pages.demo, name="demo"),
    path("demo/<slug:workspace_slug>/", pages.demo, name="demo-workspace"),
]
