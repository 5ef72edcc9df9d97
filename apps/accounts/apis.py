"""REST API for workspaces and their members. Views validate, call one service or selector,
and serialize."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
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
