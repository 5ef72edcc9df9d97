"""The demo bots build from their shipped specs (on a slice of the training data here)."""

import json
from typing import Any

import pytest

from apps.accounts.models import User
from apps.dialogue import demo
from apps.dialogue.engine import turn_decide
from apps.dialogue.models import DialogueSettings, Flow
from apps.dialogue.replies import TurnInput
from apps.knowledge.models import Article
from apps.nlu.models import TrainingRun
from ml.dialogue.flows import FlowSpec
from tests.apps.knowledge.conftest import _empty_vector_store  # noqa: F401  (autouse)
from tests.factories import ConversationFactory


@pytest.mark.parametrize("name", ["bank", "retail"])
def test_demo_specs_are_valid(name: str) -> None:
    spec = json.loads((demo.DATA / f"{name}.json").read_text())
    flows = [
        FlowSpec.from_json({"name": f["name"], "intent": f["intent"], **f["spec"]})
        for f in spec["flows"]
    ]
    assert flows
    assert all(flow.slots for flow in flows)
    assert demo._articles(spec)


def test_shop_articles_come_from_bitext_responses() -> None:
    spec = json.loads((demo.DATA / "retail.json").read_text())
    articles = demo._articles(spec)
    assert len(articles) == 27 * 3  # three per intent


@pytest.mark.django_db
def test_bank_bot_builds_and_answers(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    rows = demo._training_rows("banking77")
    keep = {"card_arrival", "lost_or_stolen_card", "exchange_rate"}
    sliced = [r for name in sorted(keep) for r in [r for r in rows if r[1] == name][:20]]
    monkeypatch.setattr(demo, "_training_rows", lambda source: sliced)
    admin = User.objects.create(username="admin")
    lines: list[str] = []
    with django_capture_on_commit_callbacks(execute=True):  # indexing runs after each commit
        workspace = demo.demo_bot_build(
            name="bank", admin=admin, origins=[], epochs=3, say=lines.append
        )
    assert workspace.slug == "demo-bank"
    assert (
        Article.objects.filter(workspace=workspace, status=Article.Status.PUBLISHED).count() == 15
    )
    assert Flow.objects.filter(workspace=workspace).count() == 2
    assert DialogueSettings.objects.get(workspace=workspace).sensitive_intents
    assert TrainingRun.objects.get(workspace=workspace).is_active
    # Running it again changes nothing.
    demo.demo_bot_build(name="bank", admin=admin, origins=[], epochs=3, say=lines.append)
    assert TrainingRun.objects.filter(workspace=workspace).count() == 1
    conversation = ConversationFactory(workspace=workspace)
    decision = turn_decide(
        TurnInput(
            workspace_id=workspace.pk,
            language="en",
            conversation_id=conversation.pk,
            text="How long does it take for my new card to arrive?",
        )
    )
    assert decision.meta.route in {"faq", "flow"}
    if decision.meta.route == "faq":
        assert decision.passages
        assert "working days" in decision.passages[0].text
    assert any("training the NLU model" in line for line in lines)
