from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from apps.accounts import apis

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="auth-token"),
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
