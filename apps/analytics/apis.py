"""REST API of the dashboards, under /api/v1/workspaces/<slug>/analytics/, for the workspace's
analysts and admins. Views validate the filters, call one selector and serialize; exports
stream CSV."""

from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Workspace
from apps.analytics import serializers
from apps.analytics.permissions import IsWorkspaceAnalyst
from apps.analytics.selectors import dashboard, drilldown, export
from apps.analytics.selectors.filters import Filters, analytics_settings_get
from apps.core.errors import ErrorOutput
from apps.core.pagination import PAGE_PARAMETERS, DefaultPagination, paginated

ERRORS = {400: ErrorOutput, 403: ErrorOutput, 404: ErrorOutput}


class AnalyticsView(APIView):
    permission_classes = [IsAuthenticated, IsWorkspaceAnalyst]
    workspace: Workspace

    def filters(self, request: Request) -> Filters:
        return serializers.FilterInput(data=request.query_params).filters(self.workspace)

    def params(self, request: Request, serializer: type[Any]) -> dict[str, Any]:
        data = serializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)


def _object(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=OpenApiTypes.OBJECT, description=description)


def _csv(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


CSV_RESPONSE: dict[Any, Any] = {(200, "text/csv"): OpenApiTypes.STR, **ERRORS}


class SummaryApi(AnalyticsView):
    @extend_schema(
        parameters=serializers.FILTER_PARAMETERS,
        responses={
            200: _object(
                "Every metric of apps.analytics.metrics for the period (``current``) and the "
                "previous period of the same length (``previous``): counts as {value}, rates as "
                "{value, k, n, low, high} (Wilson 95%), csat_mean as {value, n, low, high}, "
                "durations as {n, mean, p50, p90} in seconds; latency per stage {n, p50, p90, "
                "p99} in ms; redactions by type; the most frequent thumbs-down reasons."
            ),
            **ERRORS,
        },
        summary="Every metric, with the previous period",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        return Response(
            dashboard.analytics_summary(workspace=self.workspace, filters=self.filters(request))
        )


class SeriesApi(AnalyticsView):
    @extend_schema(
        parameters=[
            *serializers.FILTER_PARAMETERS,
            serializers.METRIC_PARAMETER,
            serializers.BUCKET_PARAMETER,
        ],
        responses={
            200: _object(
                "``points``: one per bucket in the workspace's time zone, empty ones included, "
                "each {start, end} and the metric's value as in the summary."
            ),
            **ERRORS,
        },
        summary="One metric per hour, day, week or month",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        filters = self.filters(request)
        params = self.params(request, serializers.MetricInput)
        return Response(
            dashboard.analytics_series(workspace=self.workspace, filters=filters, **params)
        )


class IntentsApi(AnalyticsView):
    @extend_schema(
        parameters=[*serializers.FILTER_PARAMETERS, serializers.BUCKET_PARAMETER],
        responses={
            200: _object(
                "``intents``: per intent turns (now and before), thumbs-down rate, automated "
                "resolution of the conversations it started; ``rising``: intents ordered by "
                "(turns + 1) / (previous turns + 1); ``trend``: turns per bucket of the busiest."
            ),
            **ERRORS,
        },
        summary="Intent trends",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        filters = self.filters(request)
        params = self.params(request, serializers.BucketInput)
        return Response(
            dashboard.analytics_intents(workspace=self.workspace, filters=filters, **params)
        )


class ModelsApi(AnalyticsView):
    @extend_schema(
        parameters=serializers.FILTER_PARAMETERS,
        responses={
            200: _object("The main metrics per NLU model version and per generator version.")
        },
        summary="Model comparison",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        return Response(
            dashboard.analytics_models(workspace=self.workspace, filters=self.filters(request))
        )


class ConversationListApi(AnalyticsView):
    @extend_schema(
        parameters=[
            *serializers.FILTER_PARAMETERS,
            *serializers.DRILLDOWN_PARAMETERS,
            *PAGE_PARAMETERS,
        ],
        responses={200: paginated(serializers.ConversationRowOutput), **ERRORS},
        summary="The conversations behind a number or a chart bucket",
        operation_id="v1_workspaces_analytics_conversations_list",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        filters = self.filters(request)
        params = self.params(request, serializers.DrilldownInput)
        rows = drilldown.drilldown_conversations(
            workspace=self.workspace, filters=filters, **params
        )
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(
            serializers.ConversationRowOutput(page, many=True).data
        )


class ConversationDetailApi(AnalyticsView):
    @extend_schema(
        responses={
            200: _object(
                "The conversation's messages (customers' text as stored, redacted), its facts, "
                "and each turn's trace: intent ranking, out-of-scope score, slots, route and "
                "reason, sources with channel scores, generator, guard, stage latencies, and "
                "SHAP attributions once requested (POST .../nlu/traces/<id>/explain/)."
            ),
            404: ErrorOutput,
        },
        summary="One conversation with each turn's trace",
    )
    def get(self, request: Request, workspace_slug: str, conversation_id: int) -> Response:
        return Response(
            drilldown.drilldown_conversation(
                workspace=self.workspace, conversation_id=conversation_id
            )
        )


class ConversationExportApi(AnalyticsView):
    @extend_schema(
        parameters=serializers.FILTER_PARAMETERS,
        responses=CSV_RESPONSE,
        summary="CSV, one row per conversation (streamed; redacted text only)",
    )
    def get(self, request: Request, workspace_slug: str) -> StreamingHttpResponse:
        rows = export.conversation_rows(workspace=self.workspace, filters=self.filters(request))
        return _csv(
            export.csv_lines(export.CONVERSATION_COLUMNS, rows),
            f"{self.workspace.slug}-conversations.csv",
        )


class TurnExportApi(AnalyticsView):
    @extend_schema(
        parameters=serializers.FILTER_PARAMETERS,
        responses=CSV_RESPONSE,
        summary="CSV, one row per turn (streamed; redacted text only)",
    )
    def get(self, request: Request, workspace_slug: str) -> StreamingHttpResponse:
        rows = export.turn_rows(workspace=self.workspace, filters=self.filters(request))
        return _csv(export.csv_lines(export.TURN_COLUMNS, rows), f"{self.workspace.slug}-turns.csv")


class SeriesExportApi(AnalyticsView):
    @extend_schema(
        parameters=[
            *serializers.FILTER_PARAMETERS,
            serializers.METRIC_PARAMETER,
            serializers.BUCKET_PARAMETER,
        ],
        responses=CSV_RESPONSE,
        summary="CSV of one metric's series",
    )
    def get(self, request: Request, workspace_slug: str) -> StreamingHttpResponse:
        filters = self.filters(request)
        params = self.params(request, serializers.MetricInput)
        series = dashboard.analytics_series(workspace=self.workspace, filters=filters, **params)
        columns, rows = export.series_rows(series)
        return _csv(
            export.csv_lines(columns, rows),
            f"{self.workspace.slug}-{series['metric']}-{series['bucket']}.csv",
        )


class SettingsApi(AnalyticsView):
    @extend_schema(responses={200: serializers.SettingsOutput, **ERRORS}, summary="Settings")
    def get(self, request: Request, workspace_slug: str) -> Response:
        return Response(
            serializers.SettingsOutput(analytics_settings_get(workspace=self.workspace)).data
        )
