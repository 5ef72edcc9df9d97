"""The text of a knowledge-base answer as the customer reads it: the generator's citation
(``[P1]``) picks the sources and is recorded in the trace, but never reaches the customer, whole
or split over streamed chunks, from any engine; a list keeps its lines."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from apps.dialogue import engine, grounded
from apps.dialogue.engine import EngineReplier, TurnDecision
from apps.dialogue.replies import ReplyMeta, TurnInput
from apps.generation import services as generation
from apps.generation.services import engine_get
from apps.knowledge.services.articles import article_create
from apps.knowledge.services.variables import AnswerFiller, answer_stream_filled
from ml.generation.contracts import Passage, Turn
from ml.serving.fallback import FallbackEngine
from tests.apps.knowledge.conftest import _empty_vector_store  # noqa: F401  (autouse)
from tests.factories import ConversationFactory, UserFactory
from tests.ml.serving.doubles import ScriptedEngine

STEPS = (
    "To cancel an order, follow these steps:\r\n\r\n1. Log in to your account.\r\n"
    "2. Open   the Orders page.\r\n3. Choose Cancel next to the order."
)
STEPS_READ = (
    "To cancel an order, follow these steps:\n\n1. Log in to your account.\n"
    "2. Open the Orders page.\n3. Choose Cancel next to the order."
)


def _filled(chunks: list[str]) -> list[str]:
    async def source() -> AsyncIterator[str]:
        for chunk in chunks:
            yield chunk

    async def collect() -> list[str]:
        return [piece async for piece in answer_stream_filled(source(), AnswerFiller())]

    return list(async_to_sync(collect)())


@pytest.mark.parametrize(
    ("chunks", "read"),
    [
        (["[P1] Refunds take five days."], "Refunds take five days."),
        (["[", "P1", "]", " Refunds take", " five days."], "Refunds take five days."),
        (["[P", "1] ", "Refunds take five days."], "Refunds take five days."),
        (["Refunds take five days. [P1]"], "Refunds take five days."),
        (["Refunds take five days ", "[", "P1", "]", "."], "Refunds take five days."),
        (
            ["Refunds take five days [P1], cards ", "[P2] three."],
            "Refunds take five days, cards three.",
        ),
        (["[P12] Twelve, and ", "[P", "12][P3]", " more."], "Twelve, and more."),
        (["[P1] [P2] Both."], "Both."),
        (["Steps:\n[P1] 1. Log in.\n", "[P2] 2. Pay."], "Steps:\n1. Log in.\n2. Pay."),
        (["Glued.[P1] Next."], "Glued. Next."),
        # Brackets that are not a citation are the answer's own text.
        (
            ["Read the terms [see below] and [P] or [P1a]."],
            "Read the terms [see below] and [P] or [P1a].",
        ),
        (["Read the terms ", "[", "see below]."], "Read the terms [see below]."),
        (["Press [P", "lease wait]."], "Press [Please wait]."),
    ],
)
def test_a_citation_never_reaches_the_customer(chunks: list[str], read: str) -> None:
    pieces = _filled(chunks)
    assert "".join(pieces) == read
    assert not any(piece.startswith(" ") for piece in pieces[:1])


def test_nothing_of_a_split_citation_is_released_before_it_is_complete() -> None:
    pieces = _filled(["Refunds take five days ", "[", "P1", "]", " and cards three."])
    assert pieces == ["Refunds take five days", " and cards three."]


def test_a_whole_text_loses_its_citations_too() -> None:
    filler = AnswerFiller()
    assert filler.fill("[P1] Refunds take five days.") == "Refunds take five days."
    assert filler.fill("Refunds [P2] take five days [P1].") == "Refunds take five days."


# --- the whole turn, for every engine ----------------------------------------------------------


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The engines the knowledge-base answer comes from (set by the test; empty: extractive)."""
    engines: list[Any] = []
    monkeypatch.setattr(generation, "engine_get", lambda: FallbackEngine(engines))
    yield engines
    engine_get.cache_clear()


def _stream(replier: Any, turn: TurnInput) -> str:
    async def collect() -> list[str]:
        return [piece async for piece in replier.stream(turn)]

    return "".join(async_to_sync(collect)())


def _faq_decision(workspace: Any) -> Any:
    def decide(turn: TurnInput) -> TurnDecision:
        return TurnDecision(
            text="",
            meta=ReplyMeta(
                route="faq",
                reason="test",
                sources=(
                    {"id": "c1", "title": "Refunds"},
                    {"id": "c2", "title": "Cancelling"},
                    {"id": "c3", "title": "Cards"},
                ),
            ),
            workspace=workspace,
            turns=[Turn("customer", "how do I cancel?")],
            passages=[
                Passage("P1", "Refunds take five days.", source_id="c1"),
                Passage("P2", STEPS, source_id="c2"),
                Passage("P3", "Cards arrive in a week.", source_id="c3"),
            ],
        )

    return decide


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("engines", "read", "cited", "sources"),
    [
        (
            [ScriptedEngine("vllm", ["[", "P2", "] To cancel,", " log in", " and [P", "3]."])],
            "To cancel, log in and.",
            ["P2", "P3"],
            ["c2", "c3"],
        ),
        (
            [
                ScriptedEngine("vllm", fail_after=0),
                ScriptedEngine("transformers", ["[P2]", " To cancel:\n1.", " Log in.\n2. Pay."]),
            ],
            "To cancel:\n1. Log in.\n2. Pay.",
            ["P2"],
            ["c2"],
        ),
        # No engine: the best passage, with its list's lines.
        ([], "Refunds take five days.", ["P1"], ["c1"]),
        # An answer that cites nothing it was shown leaves every source listed.
        (
            [ScriptedEngine("vllm", ["I don't know [P7]."])],
            "I don't know.",
            ["P7"],
            ["c1", "c2", "c3"],
        ),
    ],
)
def test_every_engine_answers_without_citations_and_they_pick_the_sources(
    workspace_a: Any,
    chain: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    engines: list[Any],
    read: str,
    cited: list[str],
    sources: list[str],
) -> None:
    chain.extend(engines)
    monkeypatch.setattr(engine, "turn_decide", _faq_decision(workspace_a))
    conversation = ConversationFactory(workspace=workspace_a)
    replier = EngineReplier()
    turn = TurnInput(
        workspace_id=workspace_a.pk, language="en", conversation_id=conversation.pk, text="?"
    )
    assert _stream(replier, turn) == read
    assert replier.meta.generator["cited"] == cited
    assert [source["id"] for source in replier.meta.sources] == sources


@pytest.mark.django_db(transaction=True)
def test_the_extractive_answer_of_a_list_article_reads_as_lines(
    workspace_a: Any, chain: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # indexing runs after the commit
        article_create(
            workspace=workspace_a,
            author=UserFactory(),
            title="How do I cancel an order?",
            body=STEPS,
            publish=True,
        )
    conversation = ConversationFactory(workspace=workspace_a)
    conversation.messages.create(sender="customer", text="how do I cancel an order?")
    turn = TurnInput(
        workspace_id=workspace_a.pk,
        language="en",
        conversation_id=conversation.pk,
        text="how do I cancel an order?",
    )
    assert _stream(EngineReplier(), turn) == STEPS_READ

    replier = grounded.GroundedReplier()
    assert _stream(replier, turn) == STEPS_READ
    assert replier.meta.generator["cited"] == ["P1"]
    # A source's title is one line: the list's first words.
    assert [source["title"] for source in replier.meta.sources] == [" ".join(STEPS.split())[:80]]
