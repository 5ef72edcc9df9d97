from django.urls import path

from apps.mlops import apis

PREFIX = "workspaces/<slug:workspace_slug>/models"

urlpatterns = [
    path(f"{PREFIX}/versions/", apis.VersionListApi.as_view(), name="mlops-versions"),
    path(
        f"{PREFIX}/versions/<int:version_id>/",
        apis.VersionDetailApi.as_view(),
        name="mlops-version",
    ),
    path(
        f"{PREFIX}/versions/<int:version_id>/promote/",
        apis.VersionPromoteApi.as_view(),
        name="mlops-version-promote",
    ),
    path(
        f"{PREFIX}/versions/<int:version_id>/canary/",
        apis.VersionCanaryApi.as_view(),
        name="mlops-version-canary",
    ),
    path(f"{PREFIX}/roll-back/", apis.RollBackApi.as_view(), name="mlops-roll-back"),
    path(f"{PREFIX}/decisions/", apis.DecisionListApi.as_view(), name="mlops-decisions"),
]
