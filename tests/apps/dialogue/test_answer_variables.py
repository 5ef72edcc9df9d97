"""What the customer reads: the workspace's answer variables filled in, and no template or
redaction residue, on every path that produces answer text (the knowledge-base answer, a
generator's streamed deltas, flow and other handler texts, the grounded replier, source titles)."""

import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from apps.dialogue import engine, grounded
from apps.dialogue.engine import EngineReplier, TurnDecision
from apps.dialogue.replies import ReplyMeta, TurnInput
from apps.knowledge.models import AnswerVariable
from apps.knowledge.services.articles import article_create
from tests.apps.knowledge.conftest import _empty_vector_store  # noqa: F401  (autouse)
from tests.factories import ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "1-800-DEMO-SHOP"
CHAT = "https://shop.example.com/chat"
ANSWER = (
    "Our team is available {{Customer Support Availability}} on {{Customer Support Phone Number}} "
    "or through the {{Live Chat}} on our website. Open the {{Order Details}} section first."
)
FILLED = (
    "Our team is available from 8 am to 8 pm on 1-800-DEMO-SHOP "
    "or through the https://shop.example.com/chat on our website. Open the Order Details "
    "section first."
)


@pytest.fixture
def variables(workspace_a: Any) -> None:
    for name, value in [
        ("Customer Support Phone Number", PHONE),
        ("live_chat", CHAT),
        ("customer support availability", "from 8 am to 8 pm"),
        ("Website URL", ""),  # named but not filled yet
    ]:
        AnswerVariable.objects.create(
            workspace=workspace_a,
            name=name,
            key=name.replace(" ", "").replace("_", "").lower(),
            value=value,
        )


def _turn(workspace: Any, conversation: Any, text: str) -> TurnInput:
    return TurnInput(
        workspace_id=workspace.pk, language="en", conversation_id=conversation.pk, text=text
    )


def _stream(replier: Any, turn: TurnInput) -> list[str]:
    async def collect() -> list[str]:
        return [piece async for piece in replier.stream(turn)]

    return list(async_to_sync(collect)())


def test_a_knowledge_base_answer_shows_the_workspace_values(
    workspace_a: Any,
    variables: None,
    extractive_only: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # indexing runs after the commit
        article_create(
            workspace=workspace_a,
            author=UserFactory(),
            title="How can I reach customer service?",
            body=ANSWER,
            publish=True,
        )
    conversation = ConversationFactory(workspace=workspace_a)
    conversation.messages.create(sender="customer", text="how can I reach you?")
    pieces = _stream(EngineReplier(), _turn(workspace_a, conversation, "how can I reach you?"))
    assert "".join(pieces) == FILLED


def _generator(chunks: list[str]) -> Any:
    async def answer_stream(**kwargs: Any) -> AsyncIterator[str]:
        for chunk in chunks:
            yield chunk

    return answer_stream


def _faq_decision(workspace: Any) -> Any:
    def decide(turn: TurnInput) -> TurnDecision:
        return TurnDecision(
            text="",
            meta=ReplyMeta(
                route="faq",
                reason="test",
                sources=({"id": "c1", "title": "Call {{Support Phone}} or use {{Live Chat}}"},),
            ),
            workspace=workspace,
        )

    return decide


def test_a_variable_split_across_streamed_deltas_is_still_filled(
    workspace_a: Any, variables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "turn_decide", _faq_decision(workspace_a))
    chunks = [
        "Call us",
        " at {",
        "{Customer Sup",
        "port Phone",
        " Number}",
        "} or use {{LIVE_",
        "CHAT}}",
        ".",
    ]
    monkeypatch.setattr(engine, "answer_stream", _generator(chunks))
    conversation = ConversationFactory(workspace=workspace_a)
    replier = EngineReplier()
    pieces = _stream(replier, _turn(workspace_a, conversation, "phone?"))
    assert "".join(pieces) == f"Call us at {PHONE} or use {CHAT}."
    assert not any("{" in piece or "}" in piece for piece in pieces)
    # The sources the widget lists under the answer are filled too (an unfilled one by its name).
    assert replier.meta.sources[0]["title"] == f"Call Support Phone or use {CHAT}"


def test_a_placeholder_the_customer_did_not_cause_never_reaches_them(
    workspace_a: Any, variables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = ConversationFactory(
        workspace=workspace_a, pii_placeholders={"3f9a0c": "CARD_1", "77b1e2": "EMAIL_1"}
    )
    monkeypatch.setattr(engine, "turn_decide", _faq_decision(workspace_a))
    chunks = [
        "Your card <CAR",
        "D_1> is frozen; the Visa or <PERSON_1> wholesale rate applies when ",
        "delivering to <LOCATION_2>. Visit our {<PERSON_3>}} or write to <EMAIL_1> or <EMAIL_2>",
    ]
    monkeypatch.setattr(engine, "answer_stream", _generator(chunks))
    pieces = _stream(EngineReplier(), _turn(workspace_a, conversation, "<CARD_1> is lost"))
    assert "".join(pieces) == (
        "Your card <CARD_1> is frozen; the Visa or wholesale rate applies when delivering to. "
        "Visit our or write to <EMAIL_1> or"
    )


def test_flow_and_handler_texts_are_filled(
    workspace_a: Any, variables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def decide(turn: TurnInput) -> TurnDecision:
        return TurnDecision(
            text="I can't see that order. Call {{ customer support phone number }} or "
            "{{Website URL}}.",
            meta=ReplyMeta(route="flow", reason="test"),
        )

    monkeypatch.setattr(engine, "turn_decide", decide)
    conversation = ConversationFactory(workspace=workspace_a)
    pieces = _stream(EngineReplier(), _turn(workspace_a, conversation, "where is 12345?"))
    assert "".join(pieces) == f"I can't see that order. Call {PHONE} or Website URL."


def test_the_grounded_replier_fills_its_answer_and_its_source_titles(
    workspace_a: Any,
    variables: None,
    extractive_only: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        article_create(
            workspace=workspace_a,
            author=UserFactory(),
            title="How can I reach customer service?",
            body=ANSWER,
            publish=True,
        )
    conversation = ConversationFactory(workspace=workspace_a)
    conversation.messages.create(sender="customer", text="how can I reach customer service?")
    replier = grounded.GroundedReplier()
    pieces = _stream(replier, _turn(workspace_a, conversation, "how can I reach customer service?"))
    assert "".join(pieces) == FILLED
    assert replier.meta.sources[0]["title"] == FILLED[:80]


def test_other_workspaces_values_are_not_used(
    workspace_a: Any, workspace_b: Any, variables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def decide(turn: TurnInput) -> TurnDecision:
        return TurnDecision(
            text="Call {{Customer Support Phone Number}}.", meta=ReplyMeta("flow", "")
        )

    monkeypatch.setattr(engine, "turn_decide", decide)
    conversation = ConversationFactory(workspace=workspace_b)
    pieces = _stream(EngineReplier(), _turn(workspace_b, conversation, "phone?"))
    assert "".join(pieces) == "Call Customer Support Phone Number."


def test_the_demo_shop_knowledge_reads_clean_to_a_customer() -> None:
    from apps.dialogue import demo
    from apps.knowledge.services.variables import AnswerFiller, variable_key, variable_names

    spec = demo.demo_spec("retail")
    values = {variable_key(k): v for k, v in spec["variables"]["values"].items()}
    articles = demo._articles(spec)
    per_intent = Counter(intent for _, _, [intent] in articles)
    assert len(per_intent) == 27
    assert set(per_intent.values()) == {3}
    filler = AnswerFiller(values=values)
    for title, body, _ in articles:
        assert {variable_key(n) for n in variable_names(title + body)} <= set(values), title
        for text in (filler.fill(title), filler.fill(body)):
            assert not re.search(r"\{|\}|\[|\]|<[A-Z]|Anonymized|#\d|\d{5,}", text), text
            # Nor one customer's amount ("a reimbursement of $350", "350 dollars").
            assert not re.search(r"[$€£]\s?\d|\d\s?(?:dollars|euros)", text, re.I), text
