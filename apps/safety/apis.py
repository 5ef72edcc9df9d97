"""Revealing a redacted message's original, for members with the permission (audited); what
redaction found in the knowledge base, for operators."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.apis import WorkspaceScopedView
from apps.accounts.roles import Capability
from apps.safety.models import KnowledgePiiReport
from apps.safety.services import knowledge_pii_list, message_original_reveal


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


class KnowledgePiiOutput(serializers.ModelSerializer[KnowledgePiiReport]):
    class Meta:
        model = KnowledgePiiReport
        fields = ["doc_key", "counts", "updated_at"]


class KnowledgePiiApi(WorkspaceScopedView):
    capabilities = {"GET": Capability.KNOWLEDGE_READ}

    @extend_schema(
        responses=KnowledgePiiOutput(many=True),
        summary="Personal data redacted from knowledge sources",
        description=(
            "Per article (`article:<id>`) and document (`document:<id>`), how many values of "
            "each type were replaced when it was last indexed: payment cards, ID numbers, IBANs, "
            "private e-mail addresses and phone numbers. Counts only, never the values."
        ),
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        reports = knowledge_pii_list(workspace=self.workspace)
        return Response(KnowledgePiiOutput(reports, many=True).data)
