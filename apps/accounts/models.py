"""Users, workspaces (one per company) and the roles users hold in them."""

import secrets

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class User(AbstractUser):
    """A person who signs in: admin, operator, agent or analyst of one or more workspaces."""


def new_public_key() -> str:
    return "wk_" + secrets.token_urlsafe(24)


class Workspace(models.Model):
    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        CHINESE = "zh", "Chinese"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    # Embedded in the company's site; identifies the workspace, grants nothing by itself.
    public_key = models.CharField(
        max_length=64, unique=True, default=new_public_key, editable=False
    )
    # Exact origins ("https://shop.example.com") whose pages may open the widget.
    allowed_origins = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    retention_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    AGENT = "agent", "Agent"
    ANALYST = "analyst", "Analyst"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    # Agents see customers' redacted personal data only with this permission (admins always).
    can_view_pii = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user"),
        ]
        ordering = ["workspace_id", "user_id"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace} ({self.role})"


class CustomerSession(models.Model):
    """An anonymous end customer in the widget, bound to one workspace by a signed token."""

    id = models.UUIDField(primary_key=True)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="customer_sessions"
    )
    origin = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"customer {self.id}"


class Invitation(models.Model):
    """An offer to join a workspace, sent to an e-mail address. Only whoever holds the secret
    link (sent to that address) can accept it, signed in or by setting up an account: nobody is
    added to a workspace without their consent, and the inviter learns nothing about who else
    uses the platform."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    # SHA-256 of the secret in the link: a database dump can't be used to accept.
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=models.Q(accepted_at__isnull=True),
                name="invitation_unique_pending_email",
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.workspace} ({self.role})"
