"""REST API for a workspace's intents, training examples and training runs."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.apis import WorkspaceScopedView
from apps.accounts.roles import Capability
from apps.core.pagination import PAGE_PARAMETERS, DefaultPagination, paginated
from apps.nlu import selectors, services
from apps.nlu.serializers import (
    ExampleInput,
    ExampleOutput,
    IntentInput,
    IntentOutput,
    RunOutput,
)


class IntentListApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.NLU_READ, "POST": Capability.NLU_MANAGE}

    @extend_schema(responses=IntentOutput(many=True), summary="The workspace's intents")
    def get(self, request: Request, workspace_slug: str) -> Response:
        return Response(
            IntentOutput(selectors.intent_list(workspace=self.workspace), many=True).data
        )

    @extend_schema(request=IntentInput, responses={201: IntentOutput}, summary="Add an intent")
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = IntentInput(data=request.data)
        data.is_valid(raise_exception=True)
        intent = services.intent_create(workspace=self.workspace, **data.validated_data)
        return Response(IntentOutput(intent).data, status=status.HTTP_201_CREATED)


class ExampleListApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.NLU_READ, "POST": Capability.NLU_MANAGE}

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses=paginated(ExampleOutput),
        operation_id="v1_workspaces_nlu_examples_list",
        summary="Training examples (newest first)",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.example_list(
            workspace=self.workspace, intent=request.query_params.get("intent")
        )
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(ExampleOutput(page, many=True).data)

    @extend_schema(request=ExampleInput, responses={201: ExampleOutput}, summary="Add an example")
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = ExampleInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        intent = (
            selectors.intent_get(workspace=self.workspace, name=values["intent"])
            if values["intent"]
            else None
        )
        example = services.training_example_create(
            workspace=self.workspace,
            text=values["text"],
            intent=intent,
            slots=[dict(s) for s in values["slots"]],
            sentiment=values["sentiment"],
        )
        return Response(ExampleOutput(example).data, status=status.HTTP_201_CREATED)


class RunListApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.NLU_READ, "POST": Capability.NLU_MANAGE}

    @extend_schema(responses=RunOutput(many=True), summary="Training runs (newest first)")
    def get(self, request: Request, workspace_slug: str) -> Response:
        return Response(
            RunOutput(selectors.run_list(workspace=self.workspace)[:50], many=True).data
        )

    @extend_schema(request=None, responses={202: RunOutput}, summary="Train the workspace's model")
    def post(self, request: Request, workspace_slug: str) -> Response:
        run = services.training_run_request(workspace=self.workspace, user=request.user)  # type: ignore[arg-type]
        run.refresh_from_db()
        return Response(RunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.NLU_READ}

    @extend_schema(responses=RunOutput, summary="One training run and its metrics")
    def get(self, request: Request, workspace_slug: str, run_id: int) -> Response:
        return Response(RunOutput(selectors.run_get(workspace=self.workspace, run_id=run_id)).data)
