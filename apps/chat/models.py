"""Conversations between an end customer, the bot and agents, and their messages."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.accounts.models import CustomerSession, Workspace


class Conversation(models.Model):
    class Status(models.TextChoices):
        BOT = "bot", "With the bot"
        WAITING_FOR_AGENT = "waiting_for_agent", "Waiting for an agent"
        WITH_AGENT = "with_agent", "With an agent"
        CLOSED = "closed", "Closed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="conversations")
    customer_session = models.ForeignKey(
        CustomerSession, on_delete=models.CASCADE, related_name="conversations"
    )
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.BOT)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    csat_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    csat_comment = models.CharField(max_length=1000, blank=True)
    # Why the conversation went to a person ("customer_request", later the dialogue engine's
    # reasons); empty while it never did.
    handoff_reason = models.CharField(max_length=120, blank=True)
    handoff_requested_at = models.DateTimeField(null=True, blank=True)
    # Redacted values -> their placeholders ({"<hmac of value>": "CARD_1"}), so the same card is
    # <CARD_1> every time in this conversation. Keys are HMACs: no value is stored here.
    pii_placeholders = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "status"]),
            models.Index(fields=["workspace", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(csat_score__isnull=True)
                | models.Q(csat_score__gte=1, csat_score__lte=5),
                name="conversation_csat_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"conversation {self.id} ({self.status})"


class Message(models.Model):
    class Sender(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        BOT = "bot", "Bot"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.CharField(max_length=16, choices=Sender.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    # The sender's own id for the message: a resend after a dropped connection carries the same id
    # and finds the stored message instead of making a second one.
    client_message_id = models.CharField(max_length=64, null=True, blank=True)
    # What a bot answer was based on, as the customer saw it: [{"title": ..., "url": ...}].
    sources = models.JSONField(default=list, blank=True)
    # What inbound redaction replaced in this message: {"PAYMENT_CARD": 1}; never the values.
    pii_found = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_message_id"],
                condition=models.Q(client_message_id__isnull=False),
                name="message_unique_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.id} from {self.sender}"


class BotTurn(models.Model):
    """The bot's duty to answer one customer message.

    Created in the transaction that stores the message, so a stored message always has one.
    The process that runs the turn claims it with a lease and renews the lease while it runs; the
    reply is stored and the turn marked done in one transaction. A turn whose process died, or
    that failed, is claimed again once its lease has run out; after ``TURN_MAX_ATTEMPTS`` the
    conversation goes to a person instead. The reply's ``client_message_id`` (``reply-<id>``)
    keeps a turn that runs twice from storing two replies.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to run"
        RUNNING = "running", "Running"
        DONE = "done", "Answered"
        HANDED_OFF = "handed_off", "Handed to a person after failing"
        SKIPPED = "skipped", "A person had the conversation by then"

    customer_message = models.OneToOneField(
        Message, on_delete=models.CASCADE, primary_key=True, related_name="bot_turn"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="bot_turns"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Until when the process that claimed the turn holds it (a pending turn: when it may run).
    lease_until = models.DateTimeField()
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["state", "lease_until"])]

    def __str__(self) -> str:
        return f"bot turn for message {self.customer_message_id} ({self.state})"
