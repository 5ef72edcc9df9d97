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
