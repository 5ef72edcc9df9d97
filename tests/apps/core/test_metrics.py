"""The product's metrics count where things happen: a stored bot turn, a handoff, a redaction,
an open socket (apps/core/metrics.py)."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from prometheus_client import REGISTRY

from apps.accounts.widget import customer_session_start
from apps.chat.services import conversation_handoff, customer_message_receive
from apps.core import metrics
from apps.dialogue.services import turn_run

pytestmark = pytest.mark.django_db(transaction=True)


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _turn(workspace: Any, text: str) -> int:
    session = customer_session_start(workspace=workspace, origin="https://acme.example.com").session
    message, _ = customer_message_receive(session=session, text=text, client_message_id="c-1")
    async_to_sync(turn_run)(customer_message_id=message.id)
    return int(message.conversation_id)


def test_a_stored_turn_counts_its_route_outcome_stages_and_input_length(
    workspace_a: Any, settings: Any
) -> None:
    settings.DIALOGUE_REPLIER = "tests.doubles.CapturingReplier"
    turns = _sample("cs_turns_total", route="other", outcome="replied")
    safety_in = _sample("cs_turn_stage_seconds_count", stage="safety_in")
    first_chunk = _sample("cs_turn_first_chunk_seconds_count")
    inputs = _sample("cs_nlu_input_chars_count")
    input_chars = _sample("cs_nlu_input_chars_sum")

    _turn(workspace_a, "where is my parcel?")

    # The test replier's route ("test") is not one of the engine's: it counts as "other".
    assert _sample("cs_turns_total", route="other", outcome="replied") == turns + 1
    assert _sample("cs_turn_stage_seconds_count", stage="safety_in") == safety_in + 1
    assert _sample("cs_turn_first_chunk_seconds_count") == first_chunk + 1
    assert _sample("cs_nlu_input_chars_count") == inputs + 1
    assert _sample("cs_nlu_input_chars_sum") == input_chars + len("where is my parcel?")


def test_a_blocked_reply_counts_a_blocked_turn_and_the_guards_reason(
    workspace_a: Any, settings: Any
) -> None:
    settings.DIALOGUE_REPLIER = "tests.doubles.LeakingReplier"  # streams a phone number
    blocked = _sample("cs_turns_total", route="other", outcome="blocked")
    pii = _sample("cs_guard_blocks_total", reason="pii")

    _turn(workspace_a, "how can I reach you?")

    assert _sample("cs_turns_total", route="other", outcome="blocked") == blocked + 1
    assert _sample("cs_guard_blocks_total", reason="pii") == pii + 1


def test_handoffs_count_by_reason_code_and_the_dialogue_policys_words_as_dialogue(
    workspace_a: Any,
) -> None:
    from tests.factories import ConversationFactory

    requested = _sample("cs_handoffs_total", reason="customer_request")
    dialogue = _sample("cs_handoffs_total", reason="dialogue")

    conversation_handoff(
        conversation_id=ConversationFactory(workspace=workspace_a).id, reason="customer_request"
    )
    conversation_handoff(
        conversation_id=ConversationFactory(workspace=workspace_a).id,
        reason="low confidence twice in a row (0.31 < 0.5)",
    )

    assert _sample("cs_handoffs_total", reason="customer_request") == requested + 1
    assert _sample("cs_handoffs_total", reason="dialogue") == dialogue + 1


def test_a_redacted_customer_message_counts_each_pii_type(workspace_a: Any) -> None:
    emails = _sample("cs_redactions_total", source="customer", type="EMAIL")
    session = customer_session_start(
        workspace=workspace_a, origin="https://acme.example.com"
    ).session

    customer_message_receive(
        session=session, text="write to jane.doe@example.com please", client_message_id="c-9"
    )

    assert _sample("cs_redactions_total", source="customer", type="EMAIL") == emails + 1


def test_turn_observe_counts_the_answer_path_and_keeps_labels_bounded() -> None:
    vllm = _sample("cs_answers_total", path="vllm")
    words = _sample("cs_generated_answer_chars_sum", path="vllm")
    term = _sample("cs_guard_blocks_total", reason="blocked_term")
    trace = {
        "route": {"name": "faq"},
        "generator": {"engine": "vllm"},
        "guard": {"blocked": True, "reasons": ["blocked_term:Acme secret project"]},
        "latency_ms": {"nlu": 12.0, "made_up_stage": 1.0},
    }

    metrics.turn_observe(trace=trace, customer_text="hi", reply_text="Hello there")

    assert _sample("cs_answers_total", path="vllm") == vllm + 1
    assert _sample("cs_generated_answer_chars_sum", path="vllm") == words + len("Hello there")
    # The workspace's own term is not a label value: its kind is.
    assert _sample("cs_guard_blocks_total", reason="blocked_term") == term + 1
    assert (
        REGISTRY.get_sample_value("cs_turn_stage_seconds_count", {"stage": "made_up_stage"}) is None
    )


def test_a_task_run_inline_counts_as_succeeded_with_its_run_time() -> None:
    from apps.chat.tasks import conversations_purge_expired

    name = conversations_purge_expired.name
    succeeded = _sample("cs_celery_tasks_total", task=name, state="succeeded")
    timed = _sample("cs_celery_task_seconds_count", task=name)

    conversations_purge_expired.delay()  # inline: the test settings have no broker

    assert _sample("cs_celery_tasks_total", task=name, state="succeeded") == succeeded + 1
    assert _sample("cs_celery_task_seconds_count", task=name) == timed + 1


def test_a_started_conversation_and_a_rating_are_counted(workspace_a: Any) -> None:
    from apps.chat.services import conversation_csat_record

    started = _sample("cs_conversations_started_total")
    fives = _sample("cs_csat_scores_total", score="5")
    session = customer_session_start(
        workspace=workspace_a, origin="https://acme.example.com"
    ).session

    customer_message_receive(session=session, text="hello", client_message_id="c-5")
    conversation_csat_record(session=session, score=5)

    assert _sample("cs_conversations_started_total") == started + 1
    assert _sample("cs_csat_scores_total", score="5") == fives + 1


@pytest.mark.asyncio
async def test_an_open_customer_socket_counts_until_it_closes(
    workspace_a: Any, connect_customer: Any
) -> None:
    before = _sample("cs_websockets_open", socket="customer")

    socket, _ = await connect_customer(workspace_a)
    during = _sample("cs_websockets_open", socket="customer")
    await socket.close()

    assert (during, _sample("cs_websockets_open", socket="customer")) == (before + 1, before)
