"""The review queue: customer turns the bot was unsure of (``ReviewItem``), who was handed which
(``ReviewAssignment``), the labels people gave (``ReviewLabel``), what agents said about a
handed-off conversation (``HandoffOutcome``) and the weak labels read off customers' and agents'
behaviour (``WeakLabel``, kept apart from reviewed labels).

Texts are copied from the stored customer message, which is already redacted: the encrypted
original (``apps.safety``) is never read here.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.accounts.models import Workspace
from apps.chat.models import Conversation
from apps.dialogue.models import TurnTrace


class ReviewSettings(models.Model):
    """Per-workspace review settings (admin-editable; a workspace without a row gets the
    defaults)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="review_settings"
    )
    # The share of new items that two different people label (Cohen's kappa needs pairs).
    double_label_share = models.FloatField(
        default=0.2, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    # A turn whose top intent scored below this is queued as "low_confidence".
    low_confidence = models.FloatField(
        default=0.6, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    # Turns older than this are not (re)harvested.
    lookback_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )

    class Meta:
        verbose_name_plural = "review settings"

    def __str__(self) -> str:
        return f"review settings of {self.workspace}"


class ReviewItem(models.Model):
    """One customer turn to label (one per turn; ``reasons`` say why it was queued)."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for labels"
        ADJUDICATION = "adjudication", "Labellers disagree: waiting for an admin"
        DONE = "done", "Final label known"

    class Reason(models.TextChoices):
        LOW_CONFIDENCE = "low_confidence", "Low intent confidence"
        OUT_OF_SCOPE = "out_of_scope", "Read as out of scope"
        CLARIFY = "clarify", "The bot asked to clarify"
        THUMBS_DOWN = "thumbs_down", "Thumbs-down on the answer"
        HANDOFF_AFTER_ANSWER = "handoff_after_answer", "Handed off after the answer"
        AGENT_CORRECTED = "agent_corrected", "Corrected by an agent"

    class Source(models.TextChoices):
        NONE = "", "Not final"
        SINGLE = "single", "One labeller"
        AGREED = "agreed", "Two labellers agreed"
        ADJUDICATED = "adjudicated", "An admin decided"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # Kept when retention deletes the conversation: the text is redacted, the label is ours.
    trace = models.OneToOneField(
        TurnTrace, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_item"
    )
    text = models.TextField()
    reasons = models.JSONField(default=list)
    route = models.CharField(max_length=40, blank=True)
    predicted_intent = models.CharField(max_length=120, blank=True)
    # The NLU ranking as traced ([{"name": ..., "score": ...}], best first) and its slots.
    suggestions = models.JSONField(default=list, blank=True)
    predicted_slots = models.JSONField(default=list, blank=True)
    uncertainty = models.FloatField(default=1.0)
    # float32 sentence embedding (unit length) and the cluster it fell in at the last harvest.
    embedding = models.BinaryField(null=True, blank=True)
    cluster = models.IntegerField(null=True, blank=True)
    labels_required = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # The final label (copied from the deciding ReviewLabel(s) when status becomes DONE).
    final_intent = models.CharField(max_length=120, blank=True)
    final_out_of_scope = models.BooleanField(default=False)
    final_slots = models.JSONField(default=list, blank=True)
    final_source = models.CharField(max_length=12, choices=Source.choices, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    turn_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-turn_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "status", "-turn_at"]),
            models.Index(fields=["workspace", "cluster"]),
        ]

    def __str__(self) -> str:
        return f"review item {self.id} ({self.status})"


class ReviewAssignment(models.Model):
    """An item handed to one person: held for them until ``leased_until``, or skipped by them
    (a skipped item goes to others, never back to whoever skipped it)."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    leased_until = models.DateTimeField()
    skipped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="review_assignment_unique_user")
        ]
        indexes = [models.Index(fields=["user", "leased_until"])]

    def __str__(self) -> str:
        return f"item {self.item_id} for user {self.user_id}"


class ReviewLabel(models.Model):
    """One person's label for one item: an intent of the workspace, or out of scope, with slot
    spans (offsets into the item's text). An adjudication is the admin's final word."""

    class Kind(models.TextChoices):
        REVIEW = "review", "Label"
        ADJUDICATION = "adjudication", "Adjudication"

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="labels")
    labeller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REVIEW)
    intent = models.CharField(max_length=120, blank=True)
    out_of_scope = models.BooleanField(default=False)
    slots = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "labeller"],
                condition=models.Q(kind="review"),
                name="review_label_one_per_labeller",
            ),
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(kind="adjudication"),
                name="review_label_one_adjudication",
            ),
            models.CheckConstraint(
                condition=(models.Q(out_of_scope=True) & models.Q(intent=""))
                | (models.Q(out_of_scope=False) & ~models.Q(intent="")),
                name="review_label_intent_or_out_of_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of item {self.item_id}: {self.intent or 'out of scope'}"


class HandoffOutcome(models.Model):
    """What the agent found in a handed-off conversation: the intent they resolved it under, and
    whether the bot's answer before the handoff was wrong (see ``services.harvest`` for how
    these become review reasons and weak labels)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="handoff_outcome"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_intent = models.CharField(max_length=120, blank=True)
    bot_answer_wrong = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"outcome of conversation {self.conversation_id}"


class WeakLabel(models.Model):
    """A label read off behaviour, never reviewed by a person, under a named rule (the rules are
    in ``services.harvest``). ``negative``: the text is *not* ``intent``. An empty intent that is
    not negative means "in scope, intent unknown"."""

    class Rule(models.TextChoices):
        THUMBS_UP_KNOWLEDGE_ANSWER = "thumbs_up_knowledge_answer", "Thumbs-up on a knowledge answer"
        AGENT_RESOLVED_INTENT = "agent_resolved_intent", "Agent resolved it under an intent"
        AGENT_MARKED_WRONG = "agent_marked_wrong", "Agent marked the bot's answer wrong"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    trace = models.ForeignKey(
        TurnTrace, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.CharField(max_length=40, choices=Rule.choices)
    text = models.TextField()
    intent = models.CharField(max_length=120, blank=True)
    negative = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["trace", "rule"], name="review_weak_label_unique_rule")
        ]
        indexes = [models.Index(fields=["workspace", "rule"])]

    def __str__(self) -> str:
        return f"{self.rule}: {self.intent or '-'}"
