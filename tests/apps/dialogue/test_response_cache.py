"""The response cache: frequent questions answered from what the bot computed before, keyed on
the workspace, the question and every version the answer depends on; never personal data."""

import threading
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from prometheus_client import REGISTRY

from apps.dialogue import engine
from apps.dialogue.engine import EngineReplier
from apps.dialogue.replies import TurnInput
from apps.dialogue.response_cache import (
    CachedAnswer,
    answer_cache_put,
    answer_lookup,
    cacheable,
    cached_compute,
    question_normalize,
)
from apps.knowledge.services.articles import article_create
from apps.knowledge.services.audit import knowledge_version, knowledge_version_bump
from tests.apps.dialogue.conftest import say
from tests.apps.knowledge.conftest import _empty_vector_store  # noqa: F401  (autouse)
from tests.factories import ConversationFactory, UserFactory

ARTICLE = "Orders ship within 2 working days; track them from the link in your e-mail."


def _lookups(stage: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "cs_response_cache_lookups_total", {"stage": stage, "result": result}
    )
    return value or 0.0


def test_a_question_is_normalized_for_its_key() -> None:
    assert question_normalize("  Where IS my   order?? ") == "where is my order"
    assert question_normalize("ＷＨＥＲＥ is my order！") == "where is my order"
    assert question_normalize("how do I pay? by card") == "how do i pay? by card"


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("where is my order?", True),
        ("my name is <PERSON_1>, where is my order?", False),
        ("send it to <EMAIL_ADDRESS_2>", False),
        ("where is order 48213570", False),  # an identifier: one customer's, never frequent
        ("I have 2 questions", True),
        ("   ", False),
    ],
)
def test_personal_data_never_goes_into_the_cache(text: str, allowed: bool) -> None:
    assert cacheable(text) is allowed


@pytest.mark.django_db
def test_a_value_is_computed_once_per_workspace_text_and_versions(
    workspace_a: Any, workspace_b: Any
) -> None:
    calls: list[str] = []

    def compute(tag: str) -> Any:
        def run() -> str:
            calls.append(tag)
            return tag

        return run

    def cached(workspace: Any, text: str, version: int, tag: str) -> str:
        return cached_compute(
            stage="nlu",
            workspace_id=workspace.pk,
            text=text,
            versions={"model": version},
            compute=compute(tag),
        )

    assert cached(workspace_a, "hello", 1, "a1") == "a1"
    assert cached(workspace_a, "hello", 1, "again") == "a1"  # a hit
    assert cached(workspace_b, "hello", 1, "b1") == "b1"  # never another workspace's
    assert cached(workspace_a, "hello", 2, "a2") == "a2"  # a new model version
    assert cached(workspace_a, "hello <PERSON_1>", 1, "p") == "p"
    assert cached(workspace_a, "hello <PERSON_1>", 1, "p2") == "p2"  # never stored
    assert calls == ["a1", "b1", "a2", "p", "p2"]


@pytest.mark.django_db
def test_switched_off_it_computes_every_time(workspace_a: Any, settings: Any) -> None:
    settings.RESPONSE_CACHE = False
    calls: list[int] = []
    for _ in range(2):
        cached_compute(
            stage="retrieval",
            workspace_id=workspace_a.pk,
            text="hello",
            versions={},
            compute=lambda: calls.append(1),
        )
    assert calls == [1, 1]


@pytest.mark.django_db
def test_the_nlu_reading_of_a_frequent_question_is_reused(bank: Any) -> None:
    first = say(ConversationFactory(workspace=bank), "I lost my card")
    hits = _lookups("nlu", "hit")
    second = say(ConversationFactory(workspace=bank), "I lost my card")
    assert _lookups("nlu", "hit") == hits + 1
    assert second.trace["nlu"]["intents"] == first.trace["nlu"]["intents"]
    # The routing ran again for the new conversation (its own state), from the cached reading.
    assert second.meta.route == first.meta.route
    assert second.trace["state"]["version"] == 1


def _ask(workspace: Any, text: str) -> tuple[str, EngineReplier]:
    conversation = ConversationFactory(workspace=workspace)
    conversation.messages.create(sender="customer", text=text)
    turn = TurnInput(
        workspace_id=workspace.pk, language="en", conversation_id=conversation.pk, text=text
    )
    replier = EngineReplier()

    async def collect() -> list[str]:
        return [piece async for piece in replier.stream(turn)]

    return "".join(async_to_sync(collect)()), replier


@pytest.mark.django_db(transaction=True)
def test_a_knowledge_answer_is_served_again_until_the_knowledge_changes(
    workspace_a: Any,
    workspace_b: Any,
    extractive_only: None,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        article_create(
            workspace=workspace_a,
            author=UserFactory(),
            title="When will my order ship?",
            body=ARTICLE,
            publish=True,
        )
    searches: list[str] = []
    real_retrieve = engine.knowledge_retrieve

    def counting_retrieve(**kwargs: Any) -> Any:
        searches.append(kwargs["query"])
        return real_retrieve(**kwargs)

    monkeypatch.setattr(engine, "knowledge_retrieve", counting_retrieve)

    first, first_replier = _ask(workspace_a, "When will my order ship?")
    assert "2 working days" in first
    assert first_replier.meta.generator["cache"] == "miss"
    # The stages' own latencies (the metrics' stage histograms read them).
    assert {"retrieval", "generation"} <= set(first_replier.engine_trace["latency_ms"])
    second, second_replier = _ask(workspace_a, "when will my order ship")
    assert second == first
    assert second_replier.meta.generator["cache"] == "hit"
    assert [s["id"] for s in second_replier.meta.sources] == [
        s["id"] for s in first_replier.meta.sources
    ]
    # Retrieval is cached on the exact words: asked the same way again, nothing is searched.
    again, _ = _ask(workspace_a, "When will my order ship?")
    assert again == first
    assert len([q for q in searches if q == "When will my order ship?"]) == 1

    # Another workspace asking the same never gets workspace A's answer.
    other, _ = _ask(workspace_b, "When will my order ship?")
    assert "2 working days" not in other

    # Any knowledge change: the next customer's answer is computed again.
    version = knowledge_version(workspace_id=workspace_a.pk)
    assert knowledge_version_bump(workspace_id=workspace_a.pk) == version + 1
    third, third_replier = _ask(workspace_a, "When will my order ship?")
    assert "2 working days" in third
    assert third_replier.meta.generator["cache"] == "miss"
    assert len([q for q in searches if q == "When will my order ship?"]) == 3  # A, B, A again


@pytest.mark.django_db
def test_an_answer_with_personal_data_or_from_a_fallback_is_not_stored(workspace_a: Any) -> None:
    def lookup(question: str) -> tuple[str | None, CachedAnswer | None]:
        return answer_lookup(
            workspace_id=workspace_a.pk, question=question, passage_ids=["c1"], generator={}
        )

    key, cached = lookup("what are your opening hours?")
    assert key is not None
    assert cached is None
    leaked = CachedAnswer("Hello <PERSON_1>, we open at 9.", {"engine": "vllm"})
    assert answer_cache_put(key=key, answer=leaked, seconds=0.5) is False
    degraded = CachedAnswer("We open at 9.", {"engine": "extractive", "fallbacks": ["vllm: down"]})
    assert answer_cache_put(key=key, answer=degraded, seconds=0.5) is False
    assert lookup("what are your opening hours?")[1] is None
    good = CachedAnswer("We open at 9.", {"engine": "vllm", "fallbacks": []})
    assert answer_cache_put(key=key, answer=good, seconds=0.5) is True
    assert lookup("What are your opening hours")[1] == good
    # A question with personal data gets no key at all.
    assert lookup("is <PERSON_1> open?") == (None, None)


@pytest.mark.django_db
def test_customers_asking_the_same_at_once_share_one_computation(workspace_a: Any) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        release.wait(5)
        return "reading"

    results: list[str] = []

    def ask() -> None:
        results.append(
            cached_compute(
                stage="nlu",
                workspace_id=workspace_a.pk,
                text="where is my order?",
                versions={"model": 1},
                compute=slow,
            )
        )

    first = threading.Thread(target=ask)
    first.start()
    assert started.wait(5)
    others = [threading.Thread(target=ask) for _ in range(3)]
    for thread in others:
        thread.start()
    time.sleep(0.3)  # they ask while the first computation runs
    release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert results == ["reading"] * 4
    assert calls == [1]
