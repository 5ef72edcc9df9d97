from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import Invitation, Membership, Role, Workspace


class WorkspaceOutput(serializers.ModelSerializer[Workspace]):
    role = serializers.CharField(read_only=True, help_text="Your role in this workspace.")

    class Meta:
        model = Workspace
        fields = [
            "name",
            "slug",
            "public_key",
            "allowed_origins",
            "language",
            "retention_days",
            "created_at",
            "role",
        ]


def _origins_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=255),
        max_length=50,
        help_text='Origins allowed to open the widget, e.g. ["https://shop.example.com"].',
        **kwargs,
    )


class WorkspaceCreateInput(serializers.Serializer[None]):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=60)
    allowed_origins = _origins_field(required=False, default=list)
    language = serializers.ChoiceField(choices=Workspace.Language.choices, required=False)
    retention_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)


class WorkspaceUpdateInput(serializers.Serializer[None]):
    name = serializers.CharField(max_length=120, required=False)
    allowed_origins = _origins_field(required=False)
    language = serializers.ChoiceField(choices=Workspace.Language.choices, required=False)
    retention_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)


class MemberOutput(serializers.ModelSerializer[Membership]):
    username = serializers.CharField(source="user.username", read_only=True)
    # Not an EmailField: an account may have no address (""), which "format: email" refuses.
    email = serializers.CharField(
        source="user.email", read_only=True, help_text="The member's e-mail address, or empty."
    )

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "created_at"]


class MemberUpdateInput(serializers.Serializer[None]):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationCreateInput(serializers.Serializer[None]):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOutput(serializers.ModelSerializer[Invitation]):
    status = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "created_at", "expires_at"]

    @extend_schema_field(serializers.CharField(help_text='"pending" or "expired".'))
    def get_status(self, invitation: Invitation) -> str:
        return "pending" if invitation.expires_at > timezone.now() else "expired"


class InvitationCreatedOutput(InvitationOutput):
    accept_url = serializers.SerializerMethodField(
        help_text="The secret accept link, also e-mailed to the address. Shown only this once."
    )

    class Meta(InvitationOutput.Meta):
        fields = [*InvitationOutput.Meta.fields, "accept_url"]

    def get_accept_url(self, invitation: Invitation) -> str:
        return str(self.context["accept_url"])


class InvitationForInviteeOutput(serializers.ModelSerializer[Invitation]):
    """What the holder of an invitation link sees about it."""

    workspace = serializers.CharField(source="workspace.name", read_only=True)

    class Meta:
        model = Invitation
        fields = ["workspace", "email", "role", "expires_at"]


class InvitationSignupInput(serializers.Serializer[None]):
    username = serializers.RegexField(
        r"^[\w.@+-]+\Z",
        max_length=150,
        help_text="Letters, digits and @/./+/-/_ only.",
    )
    password = serializers.CharField(
        max_length=128, write_only=True, style={"input_type": "password"}
    )
