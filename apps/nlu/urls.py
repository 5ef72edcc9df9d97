from django.urls import path

from apps.nlu import apis

urlpatterns = [
    path(
        "workspaces/<slug:workspace_slug>/nlu/intents/",
        apis.IntentListApi.as_view(),
        name="nlu-intents",
    ),
    path(
        "workspaces/<slug:workspace_slug>/nlu/examples/",
        apis.ExampleListApi.as_view(),
        name="nlu-examples",
    ),
    path("workspaces/<slug:workspace_slug>/nlu/runs/", apis.RunListApi.as_view(), name="nlu-runs"),
    path(
        "workspaces/<slug:workspace_slug>/nlu/runs/<int:run_id>/",
        apis.RunDetailApi.as_view(),
        name="nlu-run",
    ),
]
