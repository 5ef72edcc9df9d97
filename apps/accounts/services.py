"""Writes of workspaces, memberships and invitations."""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Invitation, Membership, Role, User, Workspace
from apps.core.exceptions import Conflict, NotFound

logger = logging.getLogger(__name__)


def origin_normalize(origin: str) -> str:
    """``"HTTPS://Shop.Example.com/"`` -> ``"https://shop.example.com"``; refuses anything else."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"allowed_origins": f"{origin!r} is not an http(s) origin."})
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValidationError(
            {"allowed_origins": f"{origin!r} must be scheme://host[:port] with no path."}
        )
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}"


def _origins_normalize(origins: list[str]) -> list[str]:
    return sorted({origin_normalize(origin) for origin in origins})


@transaction.atomic
def workspace_create(
    *,
    creator: User,
    name: str,
    slug: str,
    allowed_origins: list[str] | None = None,
    language: str = Workspace.Language.ENGLISH,
    retention_days: int = 90,
) -> Workspace:
    """Creates a workspace; its creator becomes its first admin."""
    if Workspace.objects.filter(slug=slug).exists():
        raise Conflict(f"The slug {slug!r} is taken.", code="slug_taken")
    workspace = Workspace(
        name=name,
        slug=slug,
        allowed_origins=_origins_normalize(allowed_origins or []),
        language=language,
        retention_days=retention_days,
    )
    workspace.full_clean()
    workspace.save()
    Membership.objects.create(user=creator, workspace=workspace, role=Role.ADMIN)
    return workspace


_UPDATABLE = {"name", "allowed_origins", "language", "retention_days"}


@transaction.atomic
def workspace_update(*, workspace: Workspace, data: dict[str, Any]) -> Workspace:
    unknown = set(data) - _UPDATABLE
    if unknown:
        raise ValidationError({field: "This field can't be changed." for field in unknown})
    if "allowed_origins" in data:
        data = {**data, "allowed_origins": _origins_normalize(data["allowed_origins"])}
    for field, value in data.items():
        setattr(workspace, field, value)
    workspace.full_clean()
    workspace.save(update_fields=[*data])
    return workspace


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    # The secret of the accept link; stored only as a hash, so this is the one time it exists.
    token: str


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, email: str, role: str, invited_by: User
) -> IssuedInvitation:
    """Invites an e-mail address to the workspace. Says nothing about whether anyone on the
    platform uses that address: the same answer for every address."""
    email = email.strip().lower()
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=_token_hash(token),
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        raise Conflict(
            f"{email} has a pending invitation to this workspace already.", code="already_invited"
        ) from None
    return IssuedInvitation(invitation=invitation, token=token)


def invitation_send(*, issued: IssuedInvitation, link: str) -> None:
    """E-mails the accept link to the invited address (after the invitation is committed)."""
    invitation = issued.invitation
    subject = f"You are invited to {invitation.workspace.name}"
    body = (
        f"You have been invited to join {invitation.workspace.name} as {invitation.role}.\n\n"
        f"Accept (signed in, or by setting up an account): {link}\n\n"
        f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC. "
        "If you did not expect it, ignore this message."
    )

    def send() -> None:
        try:
            send_mail(subject, body, None, [invitation.email])
        except OSError:  # the inviter has the link too (the API answers it once)
            logger.exception("invitation e-mail failed invitation=%s", invitation.id)

    transaction.on_commit(send)


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.delete()


def _pending_invitation(token: str, *, for_update: bool = False) -> Invitation:
    invitations = Invitation.objects.select_related("workspace")
    if for_update:
        invitations = invitations.select_for_update()
    invitation = invitations.filter(
        token_hash=_token_hash(token), accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).first()
    if invitation is None:
        # One answer for a wrong, used, revoked or expired link.
        raise NotFound("This invitation link is not valid (any more).", code="invalid_invitation")
    return invitation


def invitation_get(*, token: str) -> Invitation:
    return _pending_invitation(token)


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """The signed-in user joins the workspace with the invitation's role."""
    invitation = _pending_invitation(token, for_update=True)
    membership, created = Membership.objects.get_or_create(
        user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
    )
    if not created:
        raise Conflict("You are a member of this workspace already.", code="already_member")
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


@transaction.atomic
def invitation_signup(*, token: str, username: str, password: str) -> Membership:
    """Sets up an account for the invited address and accepts the invitation with it."""
    invitation = _pending_invitation(token, for_update=True)
    user = User(username=username, email=invitation.email)
    validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict("That user name is taken; choose another.", code="username_taken") from None
    return invitation_accept(token=token, user=user)


def _ensure_admin_remains(membership: Membership) -> None:
    if membership.role != Role.ADMIN:
        return
    other_admins = (
        Membership.objects.select_for_update()
        .filter(workspace_id=membership.workspace_id, role=Role.ADMIN)
        .exclude(id=membership.id)
    )
    if not other_admins.exists():
        raise Conflict("A workspace must keep at least one admin.", code="last_admin")


@transaction.atomic
def membership_update(*, membership: Membership, role: str) -> Membership:
    if role != Role.ADMIN:
        _ensure_admin_remains(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    _ensure_admin_remains(membership)
    membership.delete()


@transaction.atomic
def demo_workspace_ensure(
    *, slug: str, name: str, admin_username: str, admin_password: str, origins: list[str]
) -> tuple[Workspace, User, bool, User]:
    """The demo workspace with its admin and an agent ("agent"), made on first call.

    Returns ``(workspace, admin, admin_created, agent)``. Safe to run again: existing users keep
    their passwords; new allowed origins are added.
    """
    user, user_created = User.objects.get_or_create(
        username=admin_username, defaults={"is_staff": True, "is_superuser": True}
    )
    if user_created:
        user.set_password(admin_password)
        user.save(update_fields=["password"])
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        workspace = workspace_create(creator=user, name=name, slug=slug, allowed_origins=origins)
    else:
        Membership.objects.get_or_create(
            user=user, workspace=workspace, defaults={"role": Role.ADMIN}
        )
        merged = _origins_normalize([*workspace.allowed_origins, *origins])
        if merged != workspace.allowed_origins:
            workspace_update(workspace=workspace, data={"allowed_origins": merged})
    agent, agent_created = User.objects.get_or_create(username="agent")
    if agent_created:
        agent.set_password(admin_password)
        agent.save(update_fields=["password"])
    Membership.objects.get_or_create(user=agent, workspace=workspace, defaults={"role": Role.AGENT})
    return workspace, user, user_created, agent
