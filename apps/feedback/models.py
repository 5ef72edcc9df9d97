"""Customers' ratings of bot answers: the raw material of retraining."""

from django.db import models

from apps.accounts.models import Workspace
from apps.chat.models import Message


class MessageFeedback(models.Model):
    class Rating(models.TextChoices):
        UP = "up", "Helpful"
        DOWN = "down", "Not helpful"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # One rating per answer; a customer who changes their mind updates it.
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="feedback")
    rating = models.CharField(max_length=8, choices=Rating.choices)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "rating", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.rating} on message {self.message_id}"
