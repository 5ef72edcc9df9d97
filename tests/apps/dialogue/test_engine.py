"""The dialogue engine: NLU -> state -> policy -> handler, with the state in the database."""

import threading
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from apps.accounts.models import Role, User
from apps.chat.models import Conversation, Message
from apps.dialogue.engine import CLARIFY, NOT_FOUND
from apps.dialogue.models import ConversationState, DialogueSettings, TurnTrace
from apps.knowledge.services.articles import article_create
from apps.knowledge.services.indexing import article_index
from apps.nlu import runtime as nlu_runtime
from tests.apps.dialogue.conftest import say
from tests.factories import ConversationFactory

_say = say


def _forget_process_state() -> None:
    """What a new worker process starts with: no model loaded, nothing cached."""
    nlu_runtime._loaded.clear()
    nlu_runtime.shared_runtime.cache_clear()


@pytest.mark.django_db
def test_a_flow_asks_confirms_and_acts_with_every_stage_traced(bank: Any) -> None:
    conversation = ConversationFactory(workspace=bank)
    first = _say(conversation, "I lost my card, please block it")
    assert (first.meta.route, first.text) == ("flow", "What are the last four digits of the card?")
    assert "starts flow card_freeze" in first.meta.reason
    assert first.trace["nlu"]["intents"][0]["name"] == "lost_or_stolen_card"
    assert set(first.trace["latency_ms"]) == {"load", "nlu", "state", "policy", "handler"}
    assert first.trace["state"]["after"]["pending_question"] == "slot:card_freeze:card_last4"

    assert (
        _say(conversation, "it ends in 12").text == "Please give the last four digits, like 1234."
    )
    # "lost" in the first message already answered the second question.
    assert _say(conversation, "4821").text == "Freeze the card ending 4821 (lost)?"
    done = _say(conversation, "yes")
    assert done.text == "Done: the card ending 4821 is frozen."
    assert done.trace["handler"] == {
        "flow": "card_freeze",
        "step": "act",
        "slot": None,
        "result": {"action": "canned"},
    }
    state = ConversationState.objects.get(conversation=conversation)
    assert state.version == 4
    assert state.data["slots"]["card_last4"]["confirmed"] is True


@pytest.mark.django_db
def test_a_flow_survives_a_restart_mid_flow(bank: Any) -> None:
    conversation = ConversationFactory(workspace=bank)
    _say(conversation, "my card was stolen")
    _forget_process_state()  # the server restarts; the next turn lands on a fresh process
    assert _say(conversation, "4821").text == "Freeze the card ending 4821 (stolen)?"
    _forget_process_state()
    correction = _say(conversation, "no, it was lost")
    assert correction.meta.route == "flow"
    assert correction.text == "Freeze the card ending 4821 (lost)?"
    _forget_process_state()
    assert _say(conversation, "yes").text == "Done: the card ending 4821 is frozen."


@pytest.mark.django_db
def test_asking_for_a_person_hands_off_with_a_summary(bank: Any) -> None:
    conversation = ConversationFactory(workspace=bank)
    _say(conversation, "my card was stolen")
    decision = _say(conversation, "I want to talk to a human")
    assert decision.meta.route == "handoff"
    assert "asked for a person" in decision.meta.reason
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.WAITING_FOR_AGENT
    summary = decision.trace["handler"]["summary"]
    assert "lost_or_stolen_card" in summary
    assert "my card was stolen" in summary


@pytest.mark.django_db
def test_low_confidence_asks_to_rephrase_then_hands_off(bank: Any) -> None:
    # Nothing this tiny model says is confident enough for this workspace.
    DialogueSettings.objects.filter(workspace=bank).update(min_confidence=0.999)
    conversation = ConversationFactory(workspace=bank)
    first, second = (_say(conversation, text) for text in ("hmm", "umm"))
    assert (first.meta.route, first.text) == ("clarify", CLARIFY)
    assert "out of scope" in first.meta.reason or "low confidence" in first.meta.reason
    assert second.meta.route == "handoff", (second.trace["state"], second.trace["nlu"]["slots"])
    assert "2 turns in a row" in second.meta.reason


@pytest.mark.django_db
def test_faq_answers_from_the_knowledge_base_with_sources(bank: Any) -> None:
    author = User.objects.create(username="op")
    article = article_create(
        workspace=bank,
        author=author,
        title="When will my card arrive?",
        body="New cards arrive within 5 working days of ordering. Track it in the app.",
        publish=True,
    )
    article_index(article_id=article.pk)
    conversation = ConversationFactory(workspace=bank)
    decision = _say(conversation, "when will my new card arrive?")
    assert decision.meta.route == "faq"
    assert decision.workspace == bank
    assert decision.passages
    assert "5 working days" in decision.passages[0].text
    assert decision.meta.sources[0]["found_by"]


@pytest.mark.django_db
def test_faq_without_passages_says_so_and_counts_as_unanswered(bank: Any) -> None:
    decision = _say(ConversationFactory(workspace=bank), "what is the exchange rate to euros")
    assert decision.meta.route == "faq"
    assert decision.text == NOT_FOUND
    assert decision.trace["handler"]["unanswered"] is True


@pytest.mark.django_db(transaction=True)
def test_two_workers_taking_turns_at_once_keep_one_state(bank: Any) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("row locks need a server database; the services pass runs this on PostgreSQL")
    # Only the flow decides here: no handoff on the tiny model's sentiment or confidence.
    DialogueSettings.objects.filter(workspace=bank).update(min_confidence=0.0)
    conversation = ConversationFactory(workspace=bank)
    _say(conversation, "my card was stolen")
    errors: list[BaseException] = []

    def worker(text: str) -> None:
        try:
            _say(conversation, text)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in ("4821", "stolen")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    state = ConversationState.objects.get(conversation=conversation)
    assert state.version == 3
    assert state.data["turn"] == 3
    values = {k: v["value"] for k, v in state.data["slots"].items()}
    assert values.items() >= {"card_last4": "4821", "reason": "stolen"}.items()


@pytest.mark.django_db
def test_a_turns_intent_is_explained_in_its_trace(
    bank: Any, api: Any, member_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = ConversationFactory(workspace=bank)
    text = "I lost my card yesterday"
    message = Message.objects.create(
        conversation=conversation, sender=Message.Sender.CUSTOMER, text=text
    )
    trace = TurnTrace.objects.create(
        workspace=bank,
        conversation=conversation,
        customer_message=message,
        intent="lost_or_stolen_card",
    )
    api.force_authenticate(member_of(bank, Role.ANALYST))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(reverse("v1:nlu-trace-explain", args=[bank.slug, trace.pk]))
    assert response.status_code == 202
    trace.refresh_from_db()
    explanation = trace.data["explanation"]
    assert explanation["intent"] == "lost_or_stolen_card"
    assert "".join(t["token"] for t in explanation["tokens"]).replace(" ", "") == text.replace(
        " ", ""
    )
    weights = {t["token"].strip(): t["weight"] for t in explanation["tokens"]}
    assert max(weights, key=lambda token: weights[token]) in {"lost", "card"}
