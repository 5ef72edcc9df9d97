from django.urls import path

from apps.accounts import apis

urlpatterns = [
    path("auth/token/", apis.AuthTokenApi.as_view(), name="auth-token"),
    path("workspaces/", apis.WorkspaceListApi.as_view(), name="workspace-list"),
    path(
        "workspaces/<slug:workspace_slug>/",
        apis.WorkspaceDetailApi.as_view(),
        name="workspace-detail",
    ),
    path(
        "workspaces/<slug:workspace_slug>/members/",
        apis.MemberListApi.as_view(),
        name="member-list",
    ),
    path(
        "workspaces/<slug:workspace_slug>/members/<int:member_id>/",
        apis.MemberDetailApi.as_view(),
        name="member-detail",
    ),
]
