"""REST API for workspaces and their members. Views validate, call one service or selector,
and serialize."""

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import Workspace
from apps.accounts.permissions import HasWorkspaceCapability
from apps.accounts.roles import Capability
from apps.accounts.serializers import (
    MemberCreateInput,
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
    capabilities = {"GET": Capability.MEMBERS_READ, "POST": Capability.MEMBERS_MANAGE}

    @extend_schema(responses=MemberOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        return Response(
            MemberOutput(selectors.member_list(workspace=self.workspace), many=True).data
        )

    @extend_schema(request=MemberCreateInput, responses={201: MemberOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = MemberCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_add(workspace=self.workspace, **data.validated_data)
        return Response(MemberOutput(membership).data, status=status.HTTP_201_CREATED)


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
