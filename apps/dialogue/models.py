"""The per-turn trace: everything the bot saw and decided for one customer turn.

``data`` holds the whole trace (schema below); the columns copy the fields analysts filter and
aggregate on, so dashboards never have to scan JSON.

    {
      "version": 1,
      "inbound": {"redactions": [{"type": "CARD", "count": 1}], "injection": {...}},
      "nlu": {"intents": [{"name": "card_lost", "score": 0.93}], "oos_score": 0.04,
              "slots": [...], "sentiment": "neutral"},
      "state": {"before": {...}, "after": {...}},
      "route": {"name": "faq", "reason": "intent card_lost is an FAQ intent (0.93 >= 0.6)"},
      "sources": [{"id": "chunk-12", "title": "...", "scores": {"dense": 0.8, "sparse": 3.1}}],
      "generator": {"engine": "vllm", "model": "...", "adapter": "acme@3", "fallback": null},
      "guard": {"blocked": false, "reasons": []},
      "latency_ms": {"safety_in": 4.1, "nlu": 12.0, ..., "total": 180.3}
    }
"""

from django.db import models

from apps.accounts.models import Workspace
from apps.chat.models import Conversation, Message
from ml.dialogue.policy import NEAR_MATCH_THRESHOLD


class TurnTrace(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="turn_traces")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="turn_traces"
    )
    customer_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reply_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    intent = models.CharField(max_length=120, blank=True, db_index=True)
    intent_score = models.FloatField(null=True, blank=True)
    route = models.CharField(max_length=40, blank=True, db_index=True)
    latency_ms = models.FloatField(null=True, blank=True, db_index=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"]),
            models.Index(fields=["workspace", "route", "-created_at"]),
            models.Index(fields=["workspace", "intent", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"trace {self.id} ({self.route or 'unrouted'})"


def _english() -> list[str]:
    return ["en"]


class DialogueSettings(models.Model):
    """How a workspace's bot routes turns (admin-editable; a workspace without a row gets the
    defaults). Intent names refer to the workspace's NLU intents."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="dialogue_settings"
    )
    smalltalk_intents = models.JSONField(default=list, blank=True)
    # Intents that mean "let me talk to a person".
    handoff_intents = models.JSONField(default=list, blank=True)
    # Intents a person must handle (fraud, complaints...): handed off at once.
    sensitive_intents = models.JSONField(default=list, blank=True)
    # Replies to small-talk intents: {"greeting": "Hello! How can I help?"}.
    smalltalk_replies = models.JSONField(default=dict, blank=True)
    min_confidence = models.FloatField(default=0.5)
    switch_confidence = models.FloatField(default=0.85)
    max_low_confidence_turns = models.PositiveSmallIntegerField(default=2)
    negative_threshold = models.FloatField(default=0.8)
    max_negative_turns = models.PositiveSmallIntegerField(default=2)
    # The languages the workspace's intent model and articles are written in: a message in any
    # other is told, in its language, what the bot can do, and offered a person.
    languages = models.JSONField(default=_english, blank=True)
    # A question this similar to an article's title is answered from it even when the intent
    # model is unsure (cosine of the sentence embeddings; 0 turns the route off).
    near_match_threshold = models.FloatField(default=NEAR_MATCH_THRESHOLD)

    class Meta:
        verbose_name_plural = "dialogue settings"

    def __str__(self) -> str:
        return f"dialogue settings of {self.workspace}"


class Flow(models.Model):
    """A task flow (see ``ml.dialogue.flows.FlowSpec`` for ``spec``): the slots it collects, the
    confirmation and the action, started by ``intent``."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="flows")
    name = models.SlugField(max_length=80)
    intent = models.CharField(max_length=120)
    spec = models.JSONField()
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="dialogue_flow_unique_name"),
            models.UniqueConstraint(
                fields=["workspace", "intent"],
                condition=models.Q(enabled=True),
                name="dialogue_flow_one_per_intent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ConversationState(models.Model):
    """The dialogue state of one conversation (``ml.dialogue.state.DialogueState`` as JSON),
    in the database so that any worker can take the next turn. ``version`` counts updates."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="dialogue_state"
    )
    data = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"state of conversation {self.conversation_id} (v{self.version})"
