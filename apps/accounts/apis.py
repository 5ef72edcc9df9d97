"""REST API for workspaces and their members. Views validate, call one service or selector,
and serialize."""

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import Workspace
from apps.accounts.permissions import HasWorkspaceCapability
from apps.accounts.roles import Capability
from apps.accounts.serializers import (
    InvitationCreatedOutput,
    InvitationCreateInput,
    InvitationForInviteeOutput,
    InvitationOutput,
    InvitationSignupInput,
    MemberOutput,
    MemberUpdateInput,
    WorkspaceCreateInput,
    WorkspaceOutput,
    WorkspaceUpdateInput,
)
from apps.accounts.signin import (
    SigninLocked,
    client_ip,
    signin_failure_record,
    signin_lockout_check,
    signin_success_record,
)
from apps.core.errors import ErrorOutput, error_body


class AuthTokenApi(ObtainAuthToken):
    """DRF's token exchange, throttled like every sign-in (see ``apps.accounts.signin``)."""

    @extend_schema(
        request=inline_serializer(
            "AuthTokenInput",
            {"username": serializers.CharField(), "password": serializers.CharField()},
        ),
        responses={
            200: inline_serializer("AuthTokenOutput", {"token": serializers.CharField()}),
            400: ErrorOutput,
            429: ErrorOutput,
        },
        auth=[],
        summary="Exchange a user name and password for an API token",
        description="Too many failures for one user name or from one address lock it out for a "
        "while (429 with Retry-After), the right password included.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        fields = request.data if isinstance(request.data, Mapping) else {}
        username, password = str(fields.get("username") or ""), fields.get("password")
        ip = client_ip(request.META)
        try:
            signin_lockout_check(username=username, ip=ip)
        except SigninLocked as exc:
            return Response(
                error_body(code="throttled", message=exc.message),
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(exc.retry_after)},
            )
        try:
            response = super().post(request, *args, **kwargs)
        except ValidationError:
            if username and password:  # a guess, not a malformed request
                signin_failure_record(username=username, ip=ip)
            raise
        signin_success_record(username=username)
        return response


class WorkspaceScopedView(APIView):
    """A view under ``workspaces/<workspace_slug>/``; the permission sets ``self.workspace``."""

    permission_classes = [IsAuthenticated, HasWorkspaceCapability]
    capabilities: dict[str, Capability] = {}
    workspace: Workspace


class WorkspaceListApi(APIView):
    @extend_schema(responses=WorkspaceOutput(many=True), summary="Your workspaces")
    def get(self, request: Request) -> Response:
        workspaces = selectors.workspace_list_for_user(user=request.user)  # type: ignore[arg-type]
        return Response(WorkspaceOutput(workspaces, many=True).data)

    @extend_schema(
        request=WorkspaceCreateInput, responses={201: WorkspaceOutput}, summary="Create a workspace"
    )
    def post(self, request: Request) -> Response:
        data = WorkspaceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = services.workspace_create(creator=request.user, **data.validated_data)  # type: ignore[arg-type]
        workspace.role = "admin"  # type: ignore[attr-defined]
        return Response(WorkspaceOutput(workspace).data, status=status.HTTP_201_CREATED)


class WorkspaceDetailApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.WORKSPACE_READ, "PATCH": Capability.WORKSPACE_MANAGE}

    @extend_schema(responses=WorkspaceOutput)
    def get(self, request: Request, workspace_slug: str) -> Response:
        return Response(WorkspaceOutput(self.workspace).data)

    @extend_schema(request=WorkspaceUpdateInput, responses=WorkspaceOutput)
    def patch(self, request: Request, workspace_slug: str) -> Response:
        data = WorkspaceUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        workspace = services.workspace_update(workspace=self.workspace, data=data.validated_data)
        return Response(WorkspaceOutput(workspace).data)


class MemberListApi(WorkspaceScopedView):
    """Members join by accepting an invitation (``invitations/``), never by being added."""

    capabilities = {"GET": Capability.MEMBERS_READ}

    @extend_schema(responses=MemberOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        return Response(
            MemberOutput(selectors.member_list(workspace=self.workspace), many=True).data
        )


class MemberDetailApi(WorkspaceScopedView):
    capabilities = {
        "GET": Capability.MEMBERS_READ,
        "PATCH": Capability.MEMBERS_MANAGE,
        "DELETE": Capability.MEMBERS_MANAGE,
    }

    @extend_schema(responses=MemberOutput)
    def get(self, request: Request, workspace_slug: str, member_id: int) -> Response:
        membership = selectors.member_get(workspace=self.workspace, membership_id=member_id)
        return Response(MemberOutput(membership).data)

    @extend_schema(request=MemberUpdateInput, responses=MemberOutput)
    def patch(self, request: Request, workspace_slug: str, member_id: int) -> Response:
        data = MemberUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = selectors.member_get(workspace=self.workspace, membership_id=member_id)
        membership = services.membership_update(membership=membership, **data.validated_data)
        return Response(MemberOutput(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, member_id: int) -> Response:
        membership = selectors.member_get(workspace=self.workspace, membership_id=member_id)
        services.membership_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _accept_url(request: Request, token: str) -> str:
    return request.build_absolute_uri(reverse("invitation-page", args=[token]))


class InvitationListApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.MEMBERS_MANAGE, "POST": Capability.MEMBERS_MANAGE}

    @extend_schema(responses=InvitationOutput(many=True), summary="Invitations not accepted yet")
    def get(self, request: Request, workspace_slug: str) -> Response:
        invitations = selectors.invitation_list(workspace=self.workspace)
        return Response(InvitationOutput(invitations, many=True).data)

    @extend_schema(
        request=InvitationCreateInput,
        responses={201: InvitationCreatedOutput, 400: ErrorOutput, 409: ErrorOutput},
        summary="Invite an e-mail address",
        description="The address gets a secret link; whoever holds it joins the workspace "
        "(signed in, or by setting up an account). The answer is the same whether or not "
        "anyone on the platform uses the address.",
    )
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = InvitationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.invitation_create(
            workspace=self.workspace,
            invited_by=request.user,  # type: ignore[arg-type]
            **data.validated_data,
        )
        link = _accept_url(request, issued.token)
        services.invitation_send(issued=issued, link=link)
        output = InvitationCreatedOutput(issued.invitation, context={"accept_url": link})
        return Response(output.data, status=status.HTTP_201_CREATED)


class InvitationDetailApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.MEMBERS_MANAGE, "DELETE": Capability.MEMBERS_MANAGE}

    @extend_schema(responses=InvitationOutput)
    def get(self, request: Request, workspace_slug: str, invitation_id: int) -> Response:
        invitation = selectors.invitation_get_for_workspace(
            workspace=self.workspace, invitation_id=invitation_id
        )
        return Response(InvitationOutput(invitation).data)

    @extend_schema(responses={204: None}, summary="Revoke an invitation")
    def delete(self, request: Request, workspace_slug: str, invitation_id: int) -> Response:
        invitation = selectors.invitation_get_for_workspace(
            workspace=self.workspace, invitation_id=invitation_id
        )
        services.invitation_revoke(invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationForInviteeApi(APIView):
    """For the holder of an invitation link: what it offers."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: InvitationForInviteeOutput, 404: ErrorOutput}, auth=[])
    def get(self, request: Request, token: str) -> Response:
        return Response(InvitationForInviteeOutput(services.invitation_get(token=token)).data)


class InvitationAcceptApi(APIView):
    @extend_schema(
        request=None,
        responses={200: WorkspaceOutput, 404: ErrorOutput, 409: ErrorOutput},
        summary="Accept an invitation as the signed-in user",
    )
    def post(self, request: Request, token: str) -> Response:
        membership = services.invitation_accept(token=token, user=request.user)  # type: ignore[arg-type]
        workspace = membership.workspace
        workspace.role = membership.role  # type: ignore[attr-defined]
        return Response(WorkspaceOutput(workspace).data)


class InvitationSignupApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        request=InvitationSignupInput,
        responses={201: WorkspaceOutput, 400: ErrorOutput, 404: ErrorOutput, 409: ErrorOutput},
        auth=[],
        summary="Set up an account with an invitation and join its workspace",
    )
    def post(self, request: Request, token: str) -> Response:
        data = InvitationSignupInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.invitation_signup(token=token, **data.validated_data)
        workspace = membership.workspace
        workspace.role = membership.role  # type: ignore[attr-defined]
        return Response(WorkspaceOutput(workspace).data, status=status.HTTP_201_CREATED)
