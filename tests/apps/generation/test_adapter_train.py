"""A workspace's generator adapter trained from its own knowledge base and conversations:
which articles, questions and helpful replies it learns from, that no personal data reaches the
records file, that it needs two articles, and that the trained adapter is what the workspace's
answers then use."""

import json
from functools import partial
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.accounts.models import Workspace
from apps.chat.models import Message
from apps.feedback.models import MessageFeedback
from apps.generation.selectors import training_record_list
from apps.generation.services import (
    NotEnoughKnowledge,
    adapter_pick,
    adapter_train,
    workspace_adapter,
)
from apps.generation.tasks import generation_train_adapter
from apps.knowledge.models import Article
from apps.nlu.models import Intent, TrainingExample
from ml.serving.registry import AdapterRegistry
from tests.factories import ConversationFactory, MessageFactory, WorkspaceFactory

EMAIL = "jane.customer@example.com"
pytestmark = pytest.mark.django_db


def _article(workspace: Workspace, title: str, body: str, **extra: object) -> Article:
    defaults: dict[str, object] = {"status": Article.Status.PUBLISHED, "kind": Article.Kind.FAQ}
    defaults.update(extra)
    return Article.objects.create(workspace=workspace, title=title, body=body, **defaults)


@pytest.fixture
def shop() -> Workspace:
    workspace = WorkspaceFactory(slug="acme-shop")
    cancel = Intent.objects.create(workspace=workspace, name="cancel_order")
    for text in ("I want to cancel my order", "please cancel order 123", "stop my purchase"):
        TrainingExample.objects.create(workspace=workspace, intent=cancel, text=text)
    _article(
        workspace,
        "How do I cancel an order?",
        "Open Order Details and press Cancel Order. Questions: write to " + EMAIL,
        intents=["cancel_order"],
    )
    _article(workspace, "When do refunds arrive?", "Refunds reach your card in five days.")
    _article(workspace, "Draft: returns", "Not yet", status=Article.Status.DRAFT)
    _article(workspace, "Our manual", "A long document", kind=Article.Kind.DOCUMENT)
    return workspace


def test_records_are_published_faqs_asked_by_title_and_by_intent_examples(
    shop: Workspace,
) -> None:
    other = WorkspaceFactory()
    _article(other, "Someone else's question", "Someone else's answer")

    records = training_record_list(workspace=shop)

    questions = {(r["group"], r["question"]) for r in records}
    cancel = next(r["group"] for r in records if r["question"] == "How do I cancel an order?")
    assert {q for g, q in questions if g == cancel} == {
        "How do I cancel an order?",
        "I want to cancel my order",
        "please cancel order <ORDER_ID_1>",  # redacted like the corpus's order numbers
        "stop my purchase",
    }
    assert len(records) == 5  # four ways to ask the cancel article, one for refunds
    assert all("Someone else" not in r["answer"] and "Not yet" not in r["answer"] for r in records)
    assert all(EMAIL not in r["answer"] for r in records)
    assert any("Open Order Details" in r["answer"] for r in records)


def test_replies_marked_helpful_are_records_with_the_question_they_answered(
    shop: Workspace,
) -> None:
    conversation = ConversationFactory(workspace=shop)
    say = partial(MessageFactory, conversation=conversation)
    say(text="hello")
    say(text="where is my parcel? mail me at " + EMAIL)
    helpful = say(sender=Message.Sender.BOT, text="Track it under Orders > Tracking.")
    say(text="and can I change the address?")
    unhelpful = say(sender=Message.Sender.AGENT, text="No idea.")
    agent = say(sender=Message.Sender.AGENT, text="Yes, until it ships: Orders > Address.")
    for message, rating in ((helpful, "up"), (unhelpful, "down"), (agent, "up")):
        MessageFeedback.objects.create(workspace=shop, message=message, rating=rating)
    elsewhere = MessageFactory(sender=Message.Sender.BOT, text="Someone else's reply")
    MessageFeedback.objects.create(
        workspace=elsewhere.conversation.workspace, message=elsewhere, rating="up"
    )

    replies = [r for r in training_record_list(workspace=shop) if r["group"].startswith("reply")]

    assert [(r["question"][:18], r["answer"]) for r in replies] == [
        ("where is my parcel", "Track it under Orders > Tracking."),
        ("and can I change t", "Yes, until it ships: Orders > Address."),
    ]
    assert EMAIL not in replies[0]["question"]
    assert replies[0]["group"] != replies[1]["group"]


def test_an_adapter_needs_two_published_articles(tmp_path: Path) -> None:
    workspace = WorkspaceFactory()
    _article(workspace, "Only question", "Only answer")
    with pytest.raises(NotEnoughKnowledge, match=r"has 1 answer\(s\) to learn from"):
        adapter_train(workspace=workspace)
    with pytest.raises(CommandError, match="at least two"):
        call_command("generation_train", workspace.slug)
    with pytest.raises(CommandError, match="no workspace"):
        call_command("generation_train", "no-such-workspace")
    assert generation_train_adapter(workspace.pk).startswith("workspace")


@pytest.mark.slow
def test_the_trained_adapter_is_registered_under_the_workspace_and_holds_no_email(
    shop: Workspace, tiny_base: Path, tmp_path: Path
) -> None:
    settings_file = tmp_path / "tiny.yaml"
    settings_file.write_text(
        yaml.safe_dump(
            {
                "mixture": {"passage_words": 30},
                "training": {"epochs": 5, "max_steps": 3, "batch_size": 4, "max_length": 256},
            }
        )
    )
    adapters, data = tmp_path / "adapters", tmp_path / "data"
    with override_settings(
        GENERATION_BASE_MODEL=tiny_base,
        GENERATION_ADAPTERS_DIR=adapters,
        GENERATION_TRAINING_DATA_DIR=data,
    ):
        assert workspace_adapter(shop) is None
        result = adapter_train(workspace=shop, config_path=settings_file)
        assert workspace_adapter(shop) == "acme-shop" == result.name
        assert (result.records, result.answers, result.steps) == (5, 2, 3)
        assert result.served == "no vLLM server configured"
        assert AdapterRegistry(adapters).get("acme-shop").path.is_dir()  # manifest checks out
        meta = json.loads((adapters / "acme-shop" / "meta.json").read_text())
        assert meta["train_examples"] > 0
        written = (data / "acme-shop.jsonl").read_text()
        assert "Open Order Details" in written
        assert EMAIL not in written

        # Training again replaces the adapter whole; nothing is left beside it. A vLLM server
        # that can't be reached is reported, not fatal.
        with override_settings(VLLM_BASE_URL="http://127.0.0.1:9", VLLM_CONNECT_TIMEOUT=0.5):
            again = adapter_train(workspace=shop, config_path=settings_file)
        assert again.served.startswith("vLLM did not take it")
        # The model registry keeps each trained version beside it, served by its own name.
        assert sorted(p.name for p in adapters.iterdir()) == [
            "acme-shop",
            "acme-shop__v1",
            "acme-shop__v2",
        ]
        assert adapter_pick(workspace=shop, session_key=None).name == "acme-shop__v2"
