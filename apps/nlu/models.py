"""A workspace's intents, its training examples and the models trained from them."""

from django.conf import settings
from django.db import models

from apps.accounts.models import Workspace


class Intent(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="intents")
    name = models.SlugField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="nlu_intent_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TrainingExample(models.Model):
    """One utterance. Its text is stored redacted: training data never holds personal data."""

    class Sentiment(models.TextChoices):
        UNLABELLED = "", "Unlabelled"
        NEUTRAL = "neutral", "Neutral"
        NEGATIVE = "negative", "Negative"

    class Source(models.TextChoices):
        MANUAL = "manual", "Written by an operator"
        IMPORT = "import", "Imported"
        FEEDBACK = "feedback", "From conversations"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # No intent: an out-of-scope example (a negative for out-of-scope detection).
    intent = models.ForeignKey(
        Intent, null=True, blank=True, on_delete=models.CASCADE, related_name="examples"
    )
    text = models.CharField(max_length=1000)
    # [{"slot": "order_id", "start": 10, "end": 22}], offsets into ``text``.
    slots = models.JSONField(default=list, blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "intent"])]

    def __str__(self) -> str:
        return self.text[:60]


class TrainingRun(models.Model):
    """One training of a workspace's NLU model, and what it measured."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    examples = models.PositiveIntegerField(default=0)
    intents = models.PositiveIntegerField(default=0)
    config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    # The run whose model answers this workspace's customers (one per workspace).
    is_active = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(is_active=True),
                name="nlu_one_active_run_per_workspace",
            )
        ]

    def __str__(self) -> str:
        return f"NLU run {self.pk} ({self.status})"

    @property
    def stop_reason(self) -> str:
        """Why training stopped (``ml.nlu.train.STOP_REASONS``); empty until it has."""
        return str(self.metrics.get("stop_reason", ""))

    @property
    def budget_warning(self) -> str:
        """Set when the safety net (``training.max_minutes``) cut the run short."""
        return str(self.metrics.get("warning", ""))
