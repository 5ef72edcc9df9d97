"""REST API of the review queue, under /api/v1/workspaces/<slug>/review/: the next items for a
labeller, labels, skips, adjudication (admins), agreement, settings, and agents' handoff
outcomes. Views validate, call one service or selector, and serialize."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User, Workspace
from apps.core.errors import ErrorOutput
from apps.core.pagination import PAGE_PARAMETERS, DefaultPagination, paginated
from apps.review import selectors, serializers
from apps.review.permissions import HasReviewRole
from apps.review.selectors import ADJUDICATOR_ROLES, LABELLER_ROLES, OUTCOME_ROLES
from apps.review.services import outcomes, queue

ERRORS: dict[int, Any] = {400: ErrorOutput, 403: ErrorOutput, 404: ErrorOutput}


class ReviewView(APIView):
    permission_classes = [IsAuthenticated, HasReviewRole]
    roles: dict[str, frozenset[str]] = {}
    workspace: Workspace

    def user(self, request: Request) -> User:
        user = request.user
        assert isinstance(user, User)
        return user

    def label_input(self, request: Request) -> dict[str, Any]:
        """A label or an adjudication as the services take it (validated)."""
        data = serializers.LabelInput(data=request.data)
        data.is_valid(raise_exception=True)
        return {
            "intent": data.validated_data["intent"],
            "out_of_scope": data.validated_data["out_of_scope"],
            "slots": [dict(span) for span in data.validated_data["slots"]],
        }


class QueueApi(ReviewView):
    roles = {"GET": LABELLER_ROLES}

    @extend_schema(
        parameters=[serializers.QueueInput],
        responses={200: serializers.QueueOutput, **ERRORS},
        summary="The next items for me to label, most useful first (leased to me)",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        params = serializers.QueueInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        entries = queue.review_items_next(
            workspace=self.workspace, user=self.user(request), limit=params.validated_data["limit"]
        )
        body = {"counts": selectors.review_counts(workspace=self.workspace), "results": entries}
        return Response(serializers.QueueOutput(body).data)


class ItemListApi(ReviewView):
    roles = {"GET": LABELLER_ROLES}

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: paginated(serializers.ItemOutput), **ERRORS},
        operation_id="v1_workspaces_review_items_list",
        summary="Review items, newest turn first (?status=open|adjudication|done)",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.review_item_list(
            workspace=self.workspace, status=request.query_params.get("status")
        )
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(serializers.ItemOutput(page, many=True).data)


class ItemLabelApi(ReviewView):
    roles = {"POST": LABELLER_ROLES}

    @extend_schema(
        request=serializers.LabelInput,
        responses={201: serializers.ItemOutput, 409: ErrorOutput, **ERRORS},
        summary="Label an item: an intent of the workspace, or out of scope, with slot spans",
    )
    def post(self, request: Request, workspace_slug: str, item_id: int) -> Response:
        item = queue.review_label_submit(
            workspace=self.workspace,
            item_id=item_id,
            user=self.user(request),
            **self.label_input(request),
        )
        return Response(serializers.ItemOutput(item).data, status=status.HTTP_201_CREATED)


class ItemSkipApi(ReviewView):
    roles = {"POST": LABELLER_ROLES}

    @extend_schema(
        request=None,
        responses={204: None, **ERRORS},
        summary="Skip an item (it goes to others, never back to me)",
    )
    def post(self, request: Request, workspace_slug: str, item_id: int) -> Response:
        queue.review_item_skip(workspace=self.workspace, item_id=item_id, user=self.user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AdjudicationListApi(ReviewView):
    roles = {"GET": ADJUDICATOR_ROLES}

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: paginated(serializers.DisputedItemOutput), **ERRORS},
        summary="Items whose two labellers disagree, with both labels (admins)",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        rows = selectors.review_item_list(workspace=self.workspace, status="adjudication")
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(
            serializers.DisputedItemOutput(page, many=True).data
        )


class ItemAdjudicateApi(ReviewView):
    roles = {"POST": ADJUDICATOR_ROLES}

    @extend_schema(
        request=serializers.LabelInput,
        responses={201: serializers.ItemOutput, 409: ErrorOutput, **ERRORS},
        summary="The final label of a disputed item (admins)",
    )
    def post(self, request: Request, workspace_slug: str, item_id: int) -> Response:
        item = queue.review_adjudicate(
            workspace=self.workspace,
            item_id=item_id,
            user=self.user(request),
            **self.label_input(request),
        )
        return Response(serializers.ItemOutput(item).data, status=status.HTTP_201_CREATED)


class AgreementApi(ReviewView):
    roles = {"GET": LABELLER_ROLES}

    @extend_schema(
        responses={
            200: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description="Cohen's kappa per labeller pair (with per-intent kappa), per "
                "labeller (``flagged`` below the bar, 0.8) and per intent, over the "
                "double-labelled items; ``kappa`` is null with a ``reason`` when undefined.",
            ),
            **ERRORS,
        },
        summary="Agreement between labellers",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        report = selectors.review_agreement(workspace=self.workspace)
        return Response(serializers.agreement_payload(report))


class SettingsApi(ReviewView):
    roles = {"GET": LABELLER_ROLES, "PATCH": ADJUDICATOR_ROLES}

    @extend_schema(responses={200: serializers.ReviewSettingsOutput, **ERRORS}, summary="Settings")
    def get(self, request: Request, workspace_slug: str) -> Response:
        row = selectors.review_settings_get(workspace=self.workspace)
        return Response(serializers.ReviewSettingsOutput(row).data)

    @extend_schema(
        request=serializers.ReviewSettingsInput,
        responses={200: serializers.ReviewSettingsOutput, **ERRORS},
        summary="Change the settings (admins): the double-labelled share...",
    )
    def patch(self, request: Request, workspace_slug: str) -> Response:
        data = serializers.ReviewSettingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = queue.review_settings_update(workspace=self.workspace, **data.validated_data)
        return Response(serializers.ReviewSettingsOutput(row).data)


class HandoffOutcomeApi(ReviewView):
    roles = {"GET": OUTCOME_ROLES, "PUT": OUTCOME_ROLES}

    @extend_schema(
        responses={200: serializers.OutcomeFormOutput, **ERRORS},
        summary="A conversation's outcome as recorded so far, with the intents to choose from",
    )
    def get(self, request: Request, workspace_slug: str, conversation_id: int) -> Response:
        form = selectors.handoff_outcome_form(
            workspace=self.workspace, conversation_id=conversation_id
        )
        return Response(serializers.OutcomeFormOutput(form).data)

    @extend_schema(
        request=serializers.OutcomeInput,
        responses={200: serializers.OutcomeOutput, 409: ErrorOutput, **ERRORS},
        summary="Record a handed-off conversation's outcome (agents): the intent it was "
        "resolved under, whether the bot's answer was wrong",
    )
    def put(self, request: Request, workspace_slug: str, conversation_id: int) -> Response:
        data = serializers.OutcomeInput(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = outcomes.handoff_outcome_record(
            workspace=self.workspace,
            conversation_id=conversation_id,
            agent=self.user(request),
            **data.validated_data,
        )
        return Response(serializers.OutcomeOutput(outcome).data)
