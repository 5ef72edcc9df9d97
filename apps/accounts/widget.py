"""Anonymous widget sessions: a customer on a company's site gets a signed, expiring token that
binds them to that one workspace. No cookie of the admin site is involved.

Token: Django's signing of ``{"w": workspace_id, "s": session_id, "exp": unix_seconds}`` under its
own salt, so a token can't be forged, moved to another workspace or used after it expires.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.accounts.models import CustomerSession, Workspace
from apps.accounts.services import origin_normalize
from apps.core.exceptions import Forbidden, NotFound, Unauthorized

_SALT = "cs_platform.widget-session.v1"


@dataclass(frozen=True)
class IssuedToken:
    session: CustomerSession
    token: str
    expires_at: datetime


def workspace_get_by_public_key(*, public_key: str) -> Workspace:
    workspace = Workspace.objects.filter(public_key=public_key).first()
    if workspace is None:
        raise NotFound("Unknown workspace key.", code="unknown_workspace")
    return workspace


def origin_check(*, workspace: Workspace, origin: str | None) -> str:
    """The origin when the workspace allows it; browsers always send one for the widget's calls."""
    if not origin:
        raise Forbidden("The request has no Origin header.", code="origin_missing")
    try:
        normalized = origin_normalize(origin)
    except ValidationError:
        normalized = ""
    if normalized not in workspace.allowed_origins:
        raise Forbidden(
            f"Origin {origin[:200]} is not allowed for this workspace.", code="origin_not_allowed"
        )
    return normalized


def _token_for(session: CustomerSession) -> IssuedToken:
    expires_at = timezone.now() + timedelta(seconds=settings.WIDGET_TOKEN_TTL_SECONDS)
    payload = {"w": session.workspace_id, "s": str(session.id), "exp": int(expires_at.timestamp())}
    token = signing.dumps(payload, salt=_SALT)
    return IssuedToken(session=session, token=token, expires_at=expires_at)


def customer_session_start(
    *, workspace: Workspace, origin: str | None, resume_token: str | None = None
) -> IssuedToken:
    """A token for a new session, or a fresh token for the session ``resume_token`` names.

    Resuming keeps the customer's conversation across page loads; an expired or foreign resume
    token simply starts a new session.
    """
    origin = origin_check(workspace=workspace, origin=origin)
    if resume_token:
        try:
            session = customer_session_authenticate(token=resume_token, workspace=workspace)
        except Unauthorized:
            pass
        else:
            session.save(update_fields=["last_seen_at"])
            return _token_for(session)
    session = CustomerSession.objects.create(id=uuid.uuid4(), workspace=workspace, origin=origin)
    return _token_for(session)


def customer_session_authenticate(*, token: str, workspace: Workspace) -> CustomerSession:
    """The session a token names, if it was issued for this workspace and has not expired."""
    try:
        payload = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        raise Unauthorized("Invalid session token.", code="invalid_token") from None
    if not isinstance(payload, dict) or payload.get("w") != workspace.id:
        raise Unauthorized("This session token belongs to another workspace.", code="invalid_token")
    if int(payload.get("exp", 0)) <= int(timezone.now().timestamp()):
        raise Unauthorized("The session token has expired.", code="token_expired")
    session = CustomerSession.objects.filter(id=str(payload.get("s")), workspace=workspace).first()
    if session is None:
        raise Unauthorized("The session no longer exists.", code="invalid_token")
    return session


def widget_workspace_for_origin(*, public_key: str, origin: str | None) -> Workspace:
    """The workspace a widget socket is for: by key, opened from one of its allowed origins.
    The session's token follows in the socket's first event (see the chat protocol)."""
    workspace = workspace_get_by_public_key(public_key=public_key)
    origin_check(workspace=workspace, origin=origin)
    return workspace
