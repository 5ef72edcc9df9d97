"""Per-workspace safety settings, the encrypted originals of redacted messages, who saw one,
and what redaction found in the knowledge base."""

from django.conf import settings
from django.db import models

from apps.accounts.models import Workspace
from apps.chat.models import Message
from ml.safety.contracts import ENTITIES


def default_redacted_entities() -> list[str]:
    return list(ENTITIES)


class SafetyPolicy(models.Model):
    class Mode(models.TextChoices):
        PLACEHOLDER = "placeholder", "Typed placeholder (<CARD_1>)"
        MASK = "mask", "Mask (************1111)"

    class InjectionAction(models.TextChoices):
        FLAG = "flag", "Flag in the trace, answer normally"
        REFUSE = "refuse", "Refuse politely"
        HANDOFF = "handoff", "Hand over to a person"

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="safety_policy"
    )
    redact_entities = models.JSONField(default=default_redacted_entities)
    redaction_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PLACEHOLDER)
    # The workspace's own identifier formats, as regular expressions.
    order_id_patterns = models.JSONField(default=list, blank=True)
    invoice_id_patterns = models.JSONField(default=list, blank=True)
    injection_action = models.CharField(
        max_length=16, choices=InjectionAction.choices, default=InjectionAction.REFUSE
    )
    blocked_terms = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"safety policy of {self.workspace}"


class MessageOriginal(models.Model):
    """The customer's words before redaction, encrypted (Fernet, key from the environment)."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, primary_key=True, related_name="original"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"original of message {self.message_id}"


class PiiRevealLog(models.Model):
    """Every time someone read an original."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"user {self.user_id} read message {self.message_id}"


class KnowledgePiiReport(models.Model):
    """Personal data found (and redacted) in a knowledge source when it was last indexed, by
    type: counts only, so the operator is warned without the values being kept."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    doc_key = models.CharField(max_length=40)  # "article:12", "document:3"
    counts = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["doc_key"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "doc_key"], name="knowledge_pii_unique")
        ]

    def __str__(self) -> str:
        return f"personal data in {self.doc_key}"
