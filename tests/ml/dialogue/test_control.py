"""Conversation control: greetings, thanks, goodbyes, "are you a bot?", requests for a person
and cancellation, in English and Chinese, without any workspace's training."""

import pytest

from ml.dialogue.control import control_read, control_reply, language_of, leans_on_context
from ml.dialogue.triggers import trigger_match


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("hi", "greet"),
        ("Hello!", "greet"),
        ("hiii there", "greet"),
        ("helo", "greet"),
        ("good morning", "greet"),
        ("thank you", "thank"),
        ("Thank you so much!!", "thank"),
        ("thnaks", "thank"),
        ("cheers mate", "thank"),
        ("great thanks", "thank"),
        ("cool thx bye", "bye"),
        ("that is all, thanks", "bye"),
        ("ok", "ack"),
        ("got it", "ack"),
        ("yes", "affirm"),
        ("nope", "deny"),
        ("are you a bot?", "ask_bot"),
        ("r u a real person", "ask_bot"),
        ("is this automated", "ask_bot"),
        ("Who am I talking to?", "ask_bot"),
        ("what can you do", "capabilities"),
        ("help", "capabilities"),
        ("I want a human", "ask_human"),
        ("get me your MANAGER now!!!", "ask_human"),
        ("this bot is useless, get me a real person", "ask_human"),
        ("let me speak to a supervisor", "ask_human"),
        ("put me thru to an agent now", "ask_human"),
        ("phew, thanks", "thank"),
        ("lol ok bye", "bye"),
        ("thanks anyway", "thank"),
        ("你们是真人吗？", "ask_bot"),
        ("are you a bot? get me a person", "ask_human"),
        ("你好", "greet"),
        ("您好呀", "greet"),
        ("谢谢", "thank"),
        ("好的谢谢", "thank"),
        ("再见", "bye"),
        ("你是机器人吗", "ask_bot"),
        ("你能做什么", "capabilities"),
        ("转人工", "ask_human"),
        ("我要找经理", "ask_human"),
    ],
)
def test_conversation_acts_in_english_and_chinese(text: str, act: str) -> None:
    assert control_read(text).act == act


@pytest.mark.parametrize(
    ("text", "rest", "opened"),
    [
        (
            "hey, i want to return my shoes they dont fit",
            "i want to return my shoes they dont fit",
            "greet",
        ),
        ("Hi there, my card was stolen", "my card was stolen", "greet"),
        ("Hi, how are you? Where is my order", "Where is my order", "greet"),
        ("thanks, and how long does that take?", "how long does that take?", "thank"),
        ("您好，我的卡丢了", "我的卡丢了", "greet"),
    ],
)
def test_a_greeting_or_thanks_around_a_question_leaves_the_question(
    text: str, rest: str, opened: str
) -> None:
    read = control_read(text)
    assert (read.act, read.rest, read.opened) == (None, rest, opened)


@pytest.mark.parametrize(
    "text",
    [
        "how do I contact customer service",  # an article, not a request for a person
        "I need help with my order",
        "no, the other card 9981",  # a correction, for the flow
        "hmm",  # filler alone: the intent model reads it
        "can I pay with paypal?",
    ],
)
def test_messages_about_the_business_are_no_act(text: str) -> None:
    assert control_read(text).act is None


def test_cancel_leaves_a_flow_and_is_a_plain_no_outside_one() -> None:
    assert control_read("never mind", flow_under_way=True).act == "cancel"
    assert control_read("nvm", flow_under_way=True).act == "cancel"
    assert control_read("算了", flow_under_way=True).act == "cancel"
    assert control_read("never mind").act == "deny"


def test_anger_is_noted() -> None:
    assert control_read("GET ME A MANAGER NOW!!").angry
    assert not control_read("could I talk to a person please").angry


def test_language() -> None:
    assert language_of("我的卡丢了") == "zh"
    assert language_of("my card ending 4471") == "en"
    assert language_of("我的 Visa 卡丢了") == "zh"


def test_replies_name_what_the_bot_can_do_in_the_customers_language() -> None:
    tasks = ["freeze a lost or stolen card", "cancel a transfer"]
    assert control_reply("capabilities", "en", tasks=tasks, overrides={}) == (
        "I can answer questions from our help centre and help you freeze a lost or stolen card "
        "or cancel a transfer. Or I can connect you with a person."
    )
    declined = control_reply("decline", "zh", tasks=["取消转账"], answers=False, overrides={})
    assert declined == "抱歉，这个问题我暂时无法回答。我可以帮您取消转账。需要为您转接人工客服吗？"
    # A workspace's own wording wins.
    assert control_reply("greet", "en", tasks=[], overrides={"greet": "Hey!"}) == "Hey!"


PHRASES = {
    "card_freeze": ["left my card", "wallet was stolen", "stole my wallet", "卡丢了", "挂失"],
    "cancel_transfer": ["cancel a transfer", "取消转账"],
}


@pytest.mark.parametrize(
    ("text", "flow"),
    [
        ("i think i left my card at the pub last night", "card_freeze"),
        ("someone stole my wallet with all my cards in it", "card_freeze"),
        ("My wallet was stolen!!", "card_freeze"),
        ("我的银行卡丢了", "card_freeze"),
        ("帮我取消一笔转账", "cancel_transfer"),
        ("I need to cancel a transfer I made today", "cancel_transfer"),
        ("how long does a transfer take", None),
        ("my card doesn't work", None),
        ("我想问一下汇率", None),
    ],
)
def test_trigger_phrasings(text: str, flow: str | None) -> None:
    found = trigger_match(text, PHRASES)
    assert (found.key if found else None) == flow


@pytest.mark.parametrize(
    ("text", "leans"),
    [
        ("and abroad?", True),
        ("what about in euros?", True),
        ("is it free?", True),
        ("how long does that take to arrive", True),
        ("for my husband's account please", True),
        ("那信用卡呢？", True),
        ("can i get a mortgage from you", False),
        ("do you offer car insurance for young drivers", False),
        ("why was my payment declined at the supermarket", False),
        ("我想申请房贷需要什么材料", False),
    ],
)
def test_a_follow_up_leans_on_what_came_before_and_a_new_question_does_not(
    text: str, leans: bool
) -> None:
    assert leans_on_context(text) is leans
