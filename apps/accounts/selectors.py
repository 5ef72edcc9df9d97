"""Reads of workspaces, memberships and invitations, always from the caller's point of view."""

from django.db.models import F, QuerySet

from apps.accounts.models import Invitation, Membership, User, Workspace
from apps.accounts.roles import Capability, role_allows
from apps.core.exceptions import Forbidden, NotFound


def workspace_list_for_user(*, user: User) -> QuerySet[Workspace]:
    """The user's workspaces, each annotated with ``role``: the user's role there."""
    return (
        Workspace.objects.filter(memberships__user=user)
        .annotate(role=F("memberships__role"))
        .order_by("name", "id")
    )


def membership_get(*, user: User, workspace_slug: str) -> Membership:
    """The user's membership of the workspace; a workspace the user is not in does not exist."""
    membership = (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace__slug=workspace_slug)
        .first()
    )
    if membership is None:
        raise NotFound("No such workspace.")
    return membership


def workspace_get_for_capability(
    *, user: User, workspace_slug: str, capability: Capability
) -> Workspace:
    membership = membership_get(user=user, workspace_slug=workspace_slug)
    if not role_allows(membership.role, capability):
        raise Forbidden(f"Your role ({membership.role}) does not allow {capability.value}.")
    workspace = membership.workspace
    workspace.role = membership.role  # type: ignore[attr-defined]
    return workspace


def member_list(*, workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("id")


def member_get(*, workspace: Workspace, membership_id: int) -> Membership:
    membership = member_list(workspace=workspace).filter(id=membership_id).first()
    if membership is None:
        raise NotFound("No such member in this workspace.")
    return membership


def invitation_list(*, workspace: Workspace) -> QuerySet[Invitation]:
    """The workspace's invitations not accepted yet (expired ones included, to revoke)."""
    return Invitation.objects.filter(workspace=workspace, accepted_at__isnull=True).order_by(
        "-created_at", "-id"
    )


def invitation_get_for_workspace(*, workspace: Workspace, invitation_id: int) -> Invitation:
    invitation = invitation_list(workspace=workspace).filter(id=invitation_id).first()
    if invitation is None:
        raise NotFound("No such invitation in this workspace.")
    return invitation
