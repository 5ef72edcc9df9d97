"""Writes of workspaces and memberships."""

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import Membership, Role, User, Workspace
from apps.core.exceptions import Conflict, NotFound


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


@transaction.atomic
def membership_add(*, workspace: Workspace, username: str, role: str) -> Membership:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"No active user named {username!r}.", code="user_not_found")
    try:
        with transaction.atomic():
            return Membership.objects.create(user=user, workspace=workspace, role=role)
    except IntegrityError:
        raise Conflict(f"{username} is already a member.", code="already_member") from None


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
