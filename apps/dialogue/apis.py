"""REST API of the bot's turns."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.apis import WorkspaceScopedView
from apps.accounts.roles import Capability
from apps.dialogue import services


class TraceExplainApi(WorkspaceScopedView):
    capabilities = {"POST": Capability.NLU_READ}

    @extend_schema(
        request=None,
        responses={202: None},
        summary="Explain a turn's intent (SHAP token attributions, added to its trace)",
    )
    def post(self, request: Request, workspace_slug: str, trace_id: int) -> Response:
        services.trace_explain_request(workspace=self.workspace, trace_id=trace_id)
        return Response(status=status.HTTP_202_ACCEPTED)
