from django.urls import path

from apps.dialogue import apis

urlpatterns = [
    # Under nlu/ since it was first served there (the analytics page and API clients call it).
    path(
        "workspaces/<slug:workspace_slug>/nlu/traces/<int:trace_id>/explain/",
        apis.TraceExplainApi.as_view(),
        name="nlu-trace-explain",
    ),
]
