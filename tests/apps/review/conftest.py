"""Review-queue fixtures: turns with traces as the dialogue stores them, and a tiny fake of the
sentence encoder (texts about the same topic word get nearly the same vector)."""

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from apps.accounts.models import Role, User, Workspace
from apps.chat.models import Conversation, Message
from apps.dialogue.models import TurnTrace
from apps.nlu.models import Intent
from apps.review.models import ReviewItem
from tests.factories import ConversationFactory, MessageFactory

TOPICS = ("card", "refund", "weather", "loan", "crypto", "pizza")


class TopicEncoder:
    """Unit vectors: one axis per topic word (the first in the text), plus a little noise drawn
    from the text's hash so that no two texts are identical."""

    dimension = len(TOPICS) + 1

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            vector = np.zeros(self.dimension, dtype=np.float32)
            words = text.lower().split()
            topic = next((TOPICS.index(w) for w in words if w in TOPICS), len(TOPICS))
            vector[topic] = 1.0
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
            vector += np.random.default_rng(seed).normal(0, 0.01, self.dimension).astype(np.float32)
            rows.append(vector / np.linalg.norm(vector))
        return np.stack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)


@pytest.fixture(autouse=True)
def topic_encoder(monkeypatch: pytest.MonkeyPatch) -> TopicEncoder:
    encoder = TopicEncoder()
    monkeypatch.setattr("apps.review.services.priority.dense_encoder", lambda: encoder)
    return encoder


@pytest.fixture
def intents(workspace_a: Workspace) -> list[str]:
    names = ["card_lost", "refund_status", "loan_rates"]
    for name in names:
        Intent.objects.create(workspace=workspace_a, name=name)
    return names


@pytest.fixture
def operators(workspace_a: Workspace, member_of: Callable[..., User]) -> list[User]:
    return [member_of(workspace_a, Role.OPERATOR), member_of(workspace_a, Role.OPERATOR)]


@pytest.fixture
def admin_a(workspace_a: Workspace, member_of: Callable[..., User]) -> User:
    return member_of(workspace_a, Role.ADMIN)


def make_turn(
    workspace: Workspace,
    text: str,
    *,
    ranking: Sequence[tuple[str, float]] = (),
    route: str = "faq",
    oos: bool = False,
    conversation: Conversation | None = None,
    at: datetime | None = None,
) -> TurnTrace:
    """A customer message, the bot's reply and the turn's trace (``ranking``: intent, score)."""
    conversation = conversation or ConversationFactory(workspace=workspace)
    message = MessageFactory(conversation=conversation, text=text)
    reply = MessageFactory(conversation=conversation, sender=Message.Sender.BOT, text="reply")
    intents = [{"name": name, "score": score} for name, score in ranking]
    trace = TurnTrace.objects.create(
        workspace=workspace,
        conversation=conversation,
        customer_message=message,
        reply_message=reply,
        intent=intents[0]["name"] if intents else "",
        intent_score=intents[0]["score"] if intents else None,
        route=route,
        data={"nlu": {"intents": intents, "oos": oos, "oos_score": 0.9 if oos else 0.1}},
    )
    if at is not None:
        TurnTrace.objects.filter(id=trace.id).update(created_at=at)
        trace.refresh_from_db()
    return trace


def make_item(workspace: Workspace, text: str, **fields: Any) -> ReviewItem:
    """A review item as the harvest makes it, without a turn behind it."""
    fields.setdefault("turn_at", timezone.now() - timedelta(minutes=5))
    fields.setdefault("reasons", [ReviewItem.Reason.LOW_CONFIDENCE])
    return ReviewItem.objects.create(workspace=workspace, text=text, **fields)
