"""REST API: conversations and messages for workspace members (read), and the customer widget."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.apis import WorkspaceScopedView
from apps.accounts.models import CustomerSession, Workspace
from apps.accounts.roles import Capability
from apps.accounts.widget import (
    customer_session_authenticate,
    customer_session_start,
    origin_check,
    workspace_get_by_public_key,
)
from apps.chat import hooks, selectors, services
from apps.chat.serializers import (
    ConversationListFilter,
    ConversationOutput,
    MessageListFilter,
    MessageOutput,
    WidgetMessageInput,
    WidgetMessageOutput,
    WidgetSessionInput,
    WidgetSessionOutput,
)
from apps.core.exceptions import Unauthorized
from apps.core.pagination import PAGE_PARAMETERS, DefaultPagination, paginated
from apps.core.ratelimit import Rate, rate_limit_allow


def _client_ip(request: Request) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


class ConversationListApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.CONVERSATIONS_READ}

    @extend_schema(
        parameters=[ConversationListFilter, *PAGE_PARAMETERS],
        responses=paginated(ConversationOutput),
        operation_id="v1_workspaces_conversations_list",
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        filters = ConversationListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        conversations = selectors.conversation_list(
            workspace=self.workspace, status=filters.validated_data.get("status")
        )
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(conversations, request, view=self)
        return paginator.get_paginated_response(ConversationOutput(page, many=True).data)


class ConversationDetailApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.CONVERSATIONS_READ}

    @extend_schema(responses=ConversationOutput)
    def get(self, request: Request, workspace_slug: str, conversation_id: int) -> Response:
        conversation = selectors.conversation_get(
            workspace=self.workspace, conversation_id=conversation_id
        )
        return Response(ConversationOutput(conversation).data)


class MessageListApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.CONVERSATIONS_READ}

    @extend_schema(
        parameters=[MessageListFilter, *PAGE_PARAMETERS],
        responses=paginated(MessageOutput),
        operation_id="v1_workspaces_conversations_messages_list",
    )
    def get(self, request: Request, workspace_slug: str, conversation_id: int) -> Response:
        filters = MessageListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        conversation = selectors.conversation_get(
            workspace=self.workspace, conversation_id=conversation_id
        )
        messages = selectors.message_list(
            conversation=conversation, after_id=filters.validated_data.get("after")
        )
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(messages, request, view=self)
        return paginator.get_paginated_response(MessageOutput(page, many=True).data)


class WidgetView(APIView):
    """Called from the company's pages: no user, a signed session token, CORS per workspace."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    allowed_origin: str | None = None
    origin_required = False

    def resolve_workspace(self, request: Request, public_key: str) -> Workspace:
        workspace = workspace_get_by_public_key(public_key=public_key)
        origin = request.headers.get("Origin")
        if origin is not None or self.origin_required:
            origin_check(workspace=workspace, origin=origin)
            self.allowed_origin = origin
        return workspace

    def authenticate_customer(self, request: Request, workspace: Workspace) -> CustomerSession:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(
                "Send the widget session token as 'Authorization: Bearer <token>'.",
                code="token_missing",
            )
        return customer_session_authenticate(token=token.strip(), workspace=workspace)

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """CORS preflight: allowed only for the workspace's own origins."""
        self.resolve_workspace(request, kwargs["public_key"])
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response["Access-Control-Max-Age"] = "600"
        return response

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.allowed_origin:
            response["Access-Control-Allow-Origin"] = self.allowed_origin
        response["Vary"] = "Origin"
        return response


class WidgetSessionApi(WidgetView):
    origin_required = True

    @extend_schema(
        request=WidgetSessionInput,
        responses={201: WidgetSessionOutput},
        summary="Start (or resume) a customer session",
        description="Needs an Origin header that the workspace allows. Send `resume_token` to "
        "keep the same customer session across page loads.",
    )
    def post(self, request: Request, public_key: str) -> Response:
        workspace = self.resolve_workspace(request, public_key)
        rate = Rate.parse(settings.WIDGET_RATE_TOKENS_PER_IP)
        if not rate_limit_allow(scope="widget-token", key=_client_ip(request), rate=rate):
            raise Throttled(detail="Too many session requests from this address; wait a minute.")
        data = WidgetSessionInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = customer_session_start(
            workspace=workspace,
            origin=request.headers.get("Origin"),
            resume_token=data.validated_data.get("resume_token") or None,
        )
        body = {
            "token": issued.token,
            "session_id": issued.session.id,
            "expires_at": issued.expires_at,
        }
        return Response(WidgetSessionOutput(body).data, status=status.HTTP_201_CREATED)


class WidgetMessagesApi(WidgetView):
    @extend_schema(
        parameters=[
            MessageListFilter,
            OpenApiParameter("Authorization", location="header", required=True),
        ],
        responses=inline_serializer(
            "WidgetHistory",
            {
                "conversation": inline_serializer(
                    "WidgetConversation",
                    {"id": serializers.IntegerField(), "status": serializers.CharField()},
                    allow_null=True,
                ),
                "messages": WidgetMessageOutput(many=True),
            },
        ),
        summary="The customer's conversation so far",
    )
    def get(self, request: Request, public_key: str) -> Response:
        workspace = self.resolve_workspace(request, public_key)
        session = self.authenticate_customer(request, workspace)
        filters = MessageListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        conversation = selectors.conversation_current_for_session(session=session)
        if conversation is None:
            return Response({"conversation": None, "messages": []})
        messages = selectors.message_list(
            conversation=conversation, after_id=filters.validated_data.get("after")
        )[: DefaultPagination.max_limit]
        return Response(
            {
                "conversation": {"id": conversation.id, "status": conversation.status},
                "messages": WidgetMessageOutput(messages, many=True).data,
            }
        )

    @extend_schema(
        request=WidgetMessageInput,
        responses={201: WidgetMessageOutput, 200: WidgetMessageOutput},
        summary="Send a customer message",
        description="Idempotent per `client_message_id`: a resend answers 200 with the stored "
        "message instead of storing it twice.",
    )
    def post(self, request: Request, public_key: str) -> Response:
        workspace = self.resolve_workspace(request, public_key)
        session = self.authenticate_customer(request, workspace)
        data = WidgetMessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.customer_message_limit(session=session, ip=_client_ip(request))
        message, created = services.customer_message_receive(session=session, **data.validated_data)
        # The bot answers as it does over the socket (the customer reads it with GET, or live
        # on a socket); a resend starts a turn that failed.
        hooks.turn_dispatch(customer_message_id=message.id)
        return Response(
            WidgetMessageOutput(message).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
