"""The engine with conversation control: small talk never hands off, a greeting doesn't hide the
question after it, flows start on their trigger phrasings (in Chinese too), a question in the
middle of a flow is answered and the flow resumes, follow-ups are read in context, and a question
that is an article's title is answered even when the intent model is unsure."""

from typing import Any

import pytest

from apps.accounts.models import User
from apps.chat.models import Conversation
from apps.dialogue.engine import CLARIFY
from apps.dialogue.models import DialogueSettings, Flow
from apps.knowledge.models import Article
from apps.knowledge.services.articles import article_create
from apps.knowledge.services.indexing import article_index
from tests.apps.dialogue.conftest import FREEZE_SPEC, say
from tests.factories import ConversationFactory

FREEZE_ZH = {
    **FREEZE_SPEC,
    "title": {"en": "freeze a lost or stolen card", "zh": "冻结丢失或被盗的银行卡"},
    "triggers": ["left my card", "wallet was stolen", "卡丢了", "卡被偷"],
    "slots": [
        FREEZE_SPEC["slots"][0],
        {**FREEZE_SPEC["slots"][1], "choices": {"lost": ["missing", "丢"], "stolen": ["偷"]}},
    ],
    "translations": {
        "zh": {
            "card_last4.prompt": "请告诉我卡号的最后四位数字。",
            "confirm": "现在冻结尾号为 {card_last4} 的卡吗？",
            "result": "尾号为 {card_last4} 的卡已冻结。",
        }
    },
}


_say = say


@pytest.fixture
def bank_zh(bank: Any) -> Any:
    Flow.objects.filter(workspace=bank, name="card_freeze").update(spec=FREEZE_ZH)
    return bank


def _article(workspace: Any, title: str, body: str) -> None:
    author, _ = User.objects.get_or_create(username="op")
    article = article_create(
        workspace=workspace, author=author, title=title, body=body, publish=True
    )
    article_index(article_id=article.pk)


@pytest.mark.django_db
def test_small_talk_is_answered_and_never_counts_toward_a_handoff(bank: Any) -> None:
    # Nothing the tiny model says is confident enough: two business turns would hand off.
    DialogueSettings.objects.filter(workspace=bank).update(min_confidence=0.999)
    conversation = ConversationFactory(workspace=bank)
    replies = [_say(conversation, text) for text in ("hi", "thanks!", "ok", "are you a bot?")]
    assert [r.meta.route for r in replies] == ["smalltalk"] * 4
    assert replies[0].text == "Hello! How can I help you today?"
    assert replies[3].text.startswith("I'm a virtual assistant (a bot).")
    assert [r.trace["control"]["act"] for r in replies] == ["greet", "thank", "ack", "ask_bot"]
    assert replies[-1].trace["state"]["after"]["low_confidence_turns"] == 0
    # One unclear message after all that small talk asks to rephrase; it doesn't hand off.
    unclear = _say(conversation, "blorp quux")
    assert (unclear.meta.route, unclear.text) == ("clarify", CLARIFY)


@pytest.mark.django_db
def test_thanks_after_a_finished_flow_is_small_talk(bank: Any) -> None:
    conversation = ConversationFactory(workspace=bank)
    for text in ("my card was stolen", "4821", "yes"):
        _say(conversation, text)
    thanks = _say(conversation, "thank you")
    assert (thanks.meta.route, thanks.trace["control"]["act"]) == ("smalltalk", "thank")
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.BOT


@pytest.mark.django_db
def test_a_greeting_before_a_question_is_dropped_and_the_question_routed(bank: Any) -> None:
    decision = _say(ConversationFactory(workspace=bank), "hi there, I lost my card")
    assert decision.meta.route == "flow"
    assert decision.trace["control"] == {
        "act": None,
        "language": "en",
        "opened": "greet",
        "angry": False,
    }
    assert decision.text == "What are the last four digits of the card?"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    ["get me your manager NOW!!", "this bot is useless, I want a real person", "转人工"],
)
def test_escalation_wordings_hand_off(bank: Any, text: str) -> None:
    decision = _say(ConversationFactory(workspace=bank), text)
    assert decision.meta.route == "handoff"
    assert "asked for a person" in decision.meta.reason


@pytest.mark.django_db
def test_a_flow_starts_on_a_trigger_phrasing(bank_zh: Any) -> None:
    decision = _say(ConversationFactory(workspace=bank_zh), "I think I left my card at the bar")
    assert decision.meta.route == "flow"
    assert decision.trace["trigger"]["phrase"] == "left my card"


@pytest.mark.django_db
def test_a_question_mid_flow_is_answered_then_the_flow_resumes(bank_zh: Any) -> None:
    conversation = ConversationFactory(workspace=bank_zh)
    _say(conversation, "my wallet was stolen")
    digression = _say(conversation, "wait, are you a bot?")
    assert digression.meta.route == "smalltalk"
    assert digression.text.endswith(
        "Back to freeze a lost or stolen card: What are the last four digits of the card?"
    )
    assert _say(conversation, "4821").text == "Freeze the card ending 4821 (stolen)?"
    correction = _say(conversation, "no, the other card 9981")
    assert correction.text == "Freeze the card ending 9981 (stolen)?"
    assert _say(conversation, "yes").text == "Done: the card ending 9981 is frozen."


@pytest.mark.django_db
def test_never_mind_leaves_a_flow(bank_zh: Any) -> None:
    conversation = ConversationFactory(workspace=bank_zh)
    _say(conversation, "my wallet was stolen")
    left = _say(conversation, "never mind")
    assert (left.meta.route, left.trace["handler"]["step"]) == ("flow", "cancelled")
    assert left.trace["state"]["after"]["pending_question"] is None


@pytest.mark.django_db
def test_a_chinese_customer_freezes_a_card_in_chinese(bank_zh: Any) -> None:
    conversation = ConversationFactory(workspace=bank_zh)
    greeting = _say(conversation, "你好")
    assert (greeting.meta.route, greeting.text) == ("smalltalk", "您好！请问有什么可以帮您？")
    first = _say(conversation, "我的卡丢了")
    assert (first.meta.route, first.text) == ("flow", "请告诉我卡号的最后四位数字。")
    assert _say(conversation, "4821").text == "现在冻结尾号为 4821 的卡吗？"
    assert _say(conversation, "是的").text == "尾号为 4821 的卡已冻结。"


@pytest.mark.django_db
def test_a_chinese_question_without_chinese_content_is_declined_in_chinese(bank_zh: Any) -> None:
    conversation = ConversationFactory(workspace=bank_zh)
    declined = _say(conversation, "汇率是多少")
    assert declined.meta.route == "decline"
    assert declined.text == (
        "抱歉，这个问题我暂时无法回答。我可以帮您冻结丢失或被盗的银行卡。需要为您转接人工客服吗？"
    )
    accepted = _say(conversation, "好的")
    assert accepted.meta.route == "handoff"


@pytest.mark.django_db
def test_a_short_follow_up_is_read_with_the_previous_message(bank: Any) -> None:
    _article(bank, "When will my card arrive?", "New cards arrive within 5 working days.")
    conversation = ConversationFactory(workspace=bank)
    DialogueSettings.objects.filter(workspace=bank).update(min_confidence=0.6)
    first = _say(conversation, "when will my new card arrive?")
    assert first.meta.route == "faq"
    follow = _say(conversation, "and abroad?")
    assert follow.trace["context"]["previous"] == "when will my new card arrive?"
    assert follow.trace["context"]["intent"] == "card_arrival"
    # Taken when the joined reading is confident; never a second clarify for a follow-up that is.
    assert follow.meta.route == ("faq" if follow.trace["context"]["used"] else "clarify")


@pytest.mark.django_db
def test_a_new_question_after_an_answer_is_not_read_as_a_follow_up(bank: Any) -> None:
    # Seen in the demo: "can I get a mortgage from you" after the exchange-rate answer was read
    # together with it, and answered with the exchange-rate article again.
    _article(bank, "When will my card arrive?", "New cards arrive within 5 working days.")
    conversation = ConversationFactory(workspace=bank)
    DialogueSettings.objects.filter(workspace=bank).update(min_confidence=0.6)
    assert _say(conversation, "when will my new card arrive?").meta.route == "faq"
    DialogueSettings.objects.filter(workspace=bank).update(min_confidence=1.5)  # nothing is sure
    fresh = _say(conversation, "can i get a mortgage from you")
    assert fresh.trace["context"] == {}
    assert fresh.meta.route != "faq"


@pytest.mark.django_db
def test_an_articles_title_asked_word_for_word_is_answered(bank: Any) -> None:
    DialogueSettings.objects.filter(workspace=bank).update(min_confidence=0.999)
    _article(bank, "How do I verify my identity?", "Open the app and follow Profile > Verify.")
    decision = _say(ConversationFactory(workspace=bank), "how do i verify my identity")
    assert decision.meta.route == "faq"
    assert "near match" in decision.meta.reason
    assert decision.trace["near_match"] >= 0.9
    assert "Profile > Verify" in decision.passages[0].text


def _linked_article(workspace: Any, title: str, body: str, intent: str) -> None:
    author, _ = User.objects.get_or_create(username="op")
    article = article_create(
        workspace=workspace, author=author, title=title, body=body, publish=True
    )
    # The tiny model's intents have no stored training examples, which linking checks.
    Article.objects.filter(pk=article.pk).update(intents=[intent])
    article_index(article_id=article.pk)


@pytest.mark.django_db
def test_an_unsure_intent_that_retrieval_agrees_with_is_answered(bank: Any) -> None:
    # No reading is confident enough for this workspace.
    DialogueSettings.objects.filter(workspace=bank).update(min_confidence=1.5)
    _linked_article(
        bank, "Card delivery", "New cards arrive within 5 working days.", "card_arrival"
    )
    decision = _say(ConversationFactory(workspace=bank), "when will my new card arrive?")
    assert decision.trace["nlu"]["intents"][0]["name"] == "card_arrival"
    assert decision.meta.route == "faq"
    assert "the best article answers intent card_arrival" in decision.meta.reason
    assert decision.trace["state"]["after"]["low_confidence_turns"] == 0


@pytest.mark.django_db
def test_how_a_flow_works_is_answered_from_its_article_and_a_request_starts_it(
    bank: Any,
) -> None:
    _linked_article(
        bank,
        "Lost cards",
        "Freeze a lost card in the app under Cards, or ask me to do it.",
        "lost_or_stolen_card",
    )
    how = _say(ConversationFactory(workspace=bank), "how do I block a lost card?")
    assert how.meta.route == "faq"
    assert "a question how card_freeze works" in how.meta.reason
    request = _say(ConversationFactory(workspace=bank), "I lost my card, please block it")
    assert request.meta.route == "flow"
