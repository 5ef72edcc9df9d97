from typing import Any

from rest_framework import serializers

from apps.accounts.models import Membership, Role, Workspace


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
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "created_at"]


class MemberCreateInput(serializers.Serializer[None]):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MemberUpdateInput(serializers.Serializer[None]):
    role = serializers.ChoiceField(choices=Role.choices)
