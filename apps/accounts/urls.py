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
    path(
        "workspaces/<slug:workspace_slug>/invitations/",
        apis.InvitationListApi.as_view(),
        name="invitation-list",
    ),
    path(
        "workspaces/<slug:workspace_slug>/invitations/<int:invitation_id>/",
        apis.InvitationDetailApi.as_view(),
        name="invitation-detail",
    ),
    path("invitations/<str:token>/", apis.InvitationForInviteeApi.as_view(), name="invitation"),
    path(
        "invitations/<str:token>/accept/",
        apis.InvitationAcceptApi.as_view(),
        name="invitation-accept",
    ),
    path(
        "invitations/<str:token>/signup/",
        apis.InvitationSignupApi.as_view(),
        name="invitation-signup",
    ),
]
