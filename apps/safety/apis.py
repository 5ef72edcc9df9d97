"""Revealing a redacted message's original, for members with the permission (audited)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.apis import WorkspaceScopedView
from apps.accounts.roles import Capability
from apps.safety.services import message_original_reveal


class MessageOriginalApi(WorkspaceScopedView):
    capabilities = {"POST": Capability.CONVERSATIONS_READ}

    @extend_schema(
        request=None,
        responses=inline_serializer("MessageOriginal", {"text": serializers.CharField()}),
        summary="Reveal a redacted message's original text",
        description="Admins, and agents with the personal-data permission; every call is logged.",
    )
    def post(self, request: Request, workspace_slug: str, message_id: int) -> Response:
        text = message_original_reveal(
            user=request.user,  # type: ignore[arg-type]
            workspace=self.workspace,
            message_id=message_id,
        )
        return Response({"text": text})
