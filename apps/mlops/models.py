"""The model registry: each NLU model and generator adapter of a workspace as a numbered version
with a state, what it was trained on and how it was judged; the audited decisions that moved it;
the workspace's release policy; and the revision every serving process compares against.

    candidate ──> champion ──> retired ──> champion (rollback to the previous champion)
        │  └────> canary ──> champion / rejected (rolled back) / retired
        └───────> rejected
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.accounts.models import Workspace
from apps.nlu.models import TrainingRun

# Five fields (minute hour day-of-month month day-of-week), as cron and django-celery-beat read.
CRON_FIELD = r"[0-9A-Za-z*/,\-]+"


def validate_cron(value: str) -> None:
    if not re.fullmatch(rf"\s*{CRON_FIELD}(\s+{CRON_FIELD}){{4}}\s*", value):
        raise ValidationError(f"{value!r} is not a five-field cron expression, like '0 3 * * *'")


class Kind(models.TextChoices):
    NLU = "nlu", "NLU model"
    ADAPTER = "adapter", "Generator adapter"


class ModelVersion(models.Model):
    class State(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        REJECTED = "rejected", "Rejected"
        CANARY = "canary", "Canary"
        CHAMPION = "champion", "Champion"
        RETIRED = "retired", "Retired"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "The schedule"
        PERSON = "person", "A person"
        API = "api", "The API"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # 1, 2, 3... per workspace and kind.
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.CANDIDATE)
    # The NLU training run this version is (none for an adapter).
    training_run = models.OneToOneField(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The artifact folder; for an adapter, the name the engines serve it under is its last part.
    artifact_path = models.CharField(max_length=500)
    # SHA-256 of every file of the artifact by relative path, checked before it serves.
    manifest = models.JSONField(default=dict)
    # What it learned from: {"sha256": ..., "examples": n, "intents": {...}, "sources": {...}}.
    data_snapshot = models.JSONField(default=dict, blank=True)
    evaluation = models.JSONField(default=dict, blank=True)
    gate_result = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.PERSON)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The share of new customer sessions a canary serves.
    canary_share = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    canary_started_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workspace_id", "kind", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "number"], name="mlops_version_unique_number"
            ),
            models.UniqueConstraint(
                fields=["workspace", "kind"],
                condition=models.Q(state="champion"),
                name="mlops_one_champion",
            ),
            models.UniqueConstraint(
                fields=["workspace", "kind"],
                condition=models.Q(state="canary"),
                name="mlops_one_canary",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "kind", "state"])]

    def __str__(self) -> str:
        return f"{self.kind} v{self.number} ({self.state})"


class Decision(models.Model):
    """One audited decision about a version: what, who or what decided, why, with the numbers."""

    class Action(models.TextChoices):
        PROMOTE = "promote", "Promote"
        ROLL_BACK = "roll_back", "Roll back"
        REJECT = "reject", "Reject"
        START_CANARY = "start_canary", "Start canary"

    class Decider(models.TextChoices):
        PERSON = "person", "A person"
        GATE = "gate", "The evaluation gate"
        SEQUENTIAL_TEST = "sequential_test", "The sequential test"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=20, choices=Action.choices)
    # The version the decision is about (the one promoted, rolled back to, rejected, canaried).
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="decisions")
    # The champion (or the canary rolled back) it replaced, if any.
    replaced = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decider = models.CharField(max_length=20, choices=Decider.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    numbers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.version} by {self.decider}"


class ReleasePolicy(models.Model):
    """How a workspace's models are retrained and released (admin-editable; a workspace without
    a row gets the defaults)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="release_policy"
    )
    nlu_schedule = models.CharField(
        max_length=100, default="0 3 * * *", validators=[validate_cron], help_text="cron: nightly"
    )
    adapter_schedule = models.CharField(
        max_length=100, default="0 4 * * 0", validators=[validate_cron], help_text="cron: weekly"
    )
    # New reviewed labels since the champion's training before a retraining is worth it.
    min_new_labels = models.PositiveIntegerField(default=50)
    canary_share = models.FloatField(
        default=0.2, validators=[MinValueValidator(0.01), MaxValueValidator(1.0)]
    )
    # How much worse than the champion a candidate may be at the gate (fractions).
    macro_f1_margin = models.FloatField(default=0.01, validators=[MinValueValidator(0.0)])
    oos_recall_margin = models.FloatField(default=0.02, validators=[MinValueValidator(0.0)])
    # The gate's absolute checks (``ml.mlops.gate.GateConfig``): every intent with 5+ frozen
    # items at least this F1; calibration error and p95 latency at most these.
    gate_intent_f1_floor = models.FloatField(
        default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    gate_max_ece = models.FloatField(
        default=0.10, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    gate_latency_p95_ms = models.FloatField(default=100.0, validators=[MinValueValidator(1.0)])
    # Non-inferiority margin of the live comparison (automated resolution rate).
    resolution_margin = models.FloatField(default=0.02, validators=[MinValueValidator(0.0)])
    # Conversations each arm needs before the sequential test may promote.
    min_canary_conversations = models.PositiveIntegerField(default=200)
    # Guardrails (handoff and thumbs-down rates, p95 turn latency) are judged once each arm has
    # this many conversations; a breach rolls the canary back at once.
    guardrail_min_conversations = models.PositiveIntegerField(default=50)
    # The canary's p95 turn latency may be at most this many times the champion's.
    latency_p95_ratio = models.FloatField(default=1.5, validators=[MinValueValidator(1.0)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "release policies"

    def __str__(self) -> str:
        return f"release policy of {self.workspace}"


class RegistryRevision(models.Model):
    """Bumped by every change of a workspace's registry: each serving process compares it
    (one primary-key read per turn) with the revision its cached champion and canary came from."""

    workspace = models.OneToOneField(
        Workspace, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    revision = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"registry revision {self.revision} of {self.workspace_id}"


class FrozenItem(models.Model):
    """One reviewed label in the workspace's frozen evaluation set: the rule
    ``ml.mlops.hygiene.is_frozen`` put its text here, and no training run ever sees it (nor a
    text equal or near to it). The set only grows: rows are never updated or deleted by the
    loop."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    # ``ml.mlops.hygiene.normalise(text)``: what "the same text" means.
    normalised = models.CharField(max_length=1000)
    # An intent name, or ``apps.review.contracts.OUT_OF_SCOPE_LABEL``.
    label = models.CharField(max_length=120)
    review_item_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "normalised"], name="mlops_frozen_unique_text"
            )
        ]

    def __str__(self) -> str:
        return f"frozen: {self.text[:60]} -> {self.label}"


class Retraining(models.Model):
    """One pass of the learning loop for a workspace: harvest, hygiene, train, gate. At most
    one runs per workspace and kind at a time (a partial unique constraint), so a second
    delivery of the scheduled task does nothing."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Training failed"
        REJECTED = "rejected", "Rejected by the gate"
        CANARY = "canary", "Passed the gate: canary started"
        PROMOTED = "promoted", "First model: promoted"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NLU)
    trigger = models.CharField(max_length=10, choices=ModelVersion.Trigger.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    reason = models.CharField(max_length=500, blank=True)
    numbers = models.JSONField(default=dict, blank=True)
    training_run = models.OneToOneField(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The newest reviewed label this pass counted (the next pass counts labels after it).
    labels_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind"],
                condition=models.Q(status="running"),
                name="mlops_one_running_retraining",
            )
        ]

    def __str__(self) -> str:
        return f"retraining {self.pk} of {self.workspace_id} ({self.status})"


class CanaryLook(models.Model):
    """One look of the canary check at its canary: cumulative counts per arm since the canary
    started, and what the sequential test and the guardrails said."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="looks")
    numbers = models.JSONField(default=dict)
    decision = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"look at {self.version}: {self.decision}"
