"""REST API of the model registry: a workspace's versions, its decision log; promote, start a
canary, roll back. Admins decide; operators read."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.apis import WorkspaceScopedView
from apps.accounts.roles import Capability
from apps.core.pagination import PAGE_PARAMETERS, DefaultPagination, paginated
from apps.mlops import selectors, services
from apps.mlops.models import Decision, Kind
from apps.mlops.serializers import (
    CanaryInput,
    DecisionOutput,
    ReasonInput,
    RollBackInput,
    VersionDetailOutput,
    VersionOutput,
)

KIND_PARAMETER = OpenApiParameter("kind", str, enum=list(Kind.values), description="nlu or adapter")


def _kind(request: Request) -> str | None:
    kind = request.query_params.get("kind")
    return kind if kind in Kind.values else None


class VersionListApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.MODELS_READ}

    @extend_schema(
        parameters=[KIND_PARAMETER, *PAGE_PARAMETERS],
        responses=paginated(VersionOutput),
        operation_id="v1_workspaces_models_versions_list",
        summary="Model versions with their state and evaluation (newest first)",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.version_list(workspace=self.workspace, kind=_kind(request))
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(VersionOutput(page, many=True).data)


class VersionDetailApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.MODELS_READ}

    @extend_schema(responses=VersionDetailOutput, summary="One model version, with its manifest")
    def get(self, request: Request, workspace_slug: str, version_id: int) -> Response:
        version = selectors.version_get(workspace=self.workspace, version_id=version_id)
        return Response(VersionDetailOutput(version).data)


class VersionPromoteApi(WorkspaceScopedView):
    capabilities = {"POST": Capability.MODELS_MANAGE}

    @extend_schema(
        request=ReasonInput,
        responses={200: DecisionOutput},
        summary="Promote a candidate or the canary to champion (the champion retires)",
    )
    def post(self, request: Request, workspace_slug: str, version_id: int) -> Response:
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = selectors.version_get(workspace=self.workspace, version_id=version_id)
        decision = services.version_promote(
            version=version,
            decider=Decision.Decider.PERSON,
            user=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
        )
        return Response(DecisionOutput(decision).data)


class VersionCanaryApi(WorkspaceScopedView):
    capabilities = {"POST": Capability.MODELS_MANAGE}

    @extend_schema(
        request=CanaryInput,
        responses={200: DecisionOutput},
        summary="Serve a candidate to a share of new customer sessions beside the champion",
    )
    def post(self, request: Request, workspace_slug: str, version_id: int) -> Response:
        data = CanaryInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = selectors.version_get(workspace=self.workspace, version_id=version_id)
        decision = services.canary_start(
            version=version,
            decider=Decision.Decider.PERSON,
            share=data.validated_data.get("share"),
            user=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
        )
        return Response(DecisionOutput(decision).data)


class RollBackApi(WorkspaceScopedView):
    capabilities = {"POST": Capability.MODELS_MANAGE}

    @extend_schema(
        request=RollBackInput,
        responses={200: DecisionOutput},
        summary="Roll back: reject the canary, or bring the previous champion back",
    )
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = RollBackInput(data=request.data)
        data.is_valid(raise_exception=True)
        decision = services.version_roll_back(
            workspace=self.workspace,
            kind=data.validated_data["kind"],
            decider=Decision.Decider.PERSON,
            user=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
        )
        return Response(DecisionOutput(decision).data, status=status.HTTP_200_OK)


class DecisionListApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.MODELS_READ}

    @extend_schema(
        parameters=[KIND_PARAMETER, *PAGE_PARAMETERS],
        responses=paginated(DecisionOutput),
        operation_id="v1_workspaces_models_decisions_list",
        summary="The decision log: promotions, canaries, rejections, rollbacks (newest first)",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.decision_list(workspace=self.workspace, kind=_kind(request))
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(DecisionOutput(page, many=True).data)
