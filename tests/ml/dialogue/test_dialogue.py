"""State tracking, flows and routing, on hand-made NLU results (no model needed)."""

from dataclasses import replace

import pytest

from ml.dialogue.control import control_read
from ml.dialogue.flows import FlowSpec, flow_step
from ml.dialogue.policy import RoutingConfig, asks_for_person, route_decide
from ml.dialogue.state import DONTCARE, DialogueState, SlotVocabulary, state_update
from ml.nlu.contracts import IntentScore, NluResult, SlotSpan

AREA = SlotVocabulary(values={"centre": ("center", "central")}, mentions=("area", "part of town"))
FOOD = SlotVocabulary(values={"chinese": (), "thai": ()}, mentions=("food", "cuisine"))
VOCABULARIES = {"area": AREA, "food": FOOD}


def nlu(
    text: str,
    intent: str | None = "find_restaurant",
    score: float = 0.9,
    slots: tuple[tuple[str, str], ...] = (),
    negative: float = 0.1,
    oos: bool = False,
) -> NluResult:
    spans = []
    for slot, value in slots:
        start = text.lower().index(value.lower())
        spans.append(SlotSpan(slot, start, start + len(value), text[start : start + len(value)]))
    return NluResult(
        text=text,
        intents=(IntentScore(intent, score),) if intent else (),
        is_oos=oos,
        oos_score=0.9 if oos else 0.1,
        slots=tuple(spans),
        sentiment="negative" if negative >= 0.5 else "neutral",
        sentiment_scores={"neutral": 1 - negative, "negative": negative},
    )


def test_values_carry_over_and_are_replaced() -> None:
    state = state_update(
        DialogueState(),
        nlu("chinese food in the center", slots=(("food", "chinese"), ("area", "center"))),
        vocabularies=VOCABULARIES,
    )
    assert state.values() == {"food": "chinese", "area": "centre"}
    state = state_update(
        state, nlu("how about thai instead", slots=(("food", "thai"),)), vocabularies=VOCABULARIES
    )
    assert state.values() == {"food": "thai", "area": "centre"}
    assert state.last_correction
    assert state.slots["food"].turn == 2
    assert state.slots["area"].turn == 1
    assert DialogueState.from_json(state.to_json()) == state


def test_dontcare_goes_to_the_named_slot_or_the_one_asked() -> None:
    state = state_update(
        DialogueState(),
        nlu("any area is fine, thai food", slots=(("food", "thai"),)),
        vocabularies=VOCABULARIES,
    )
    assert state.values() == {"food": "thai", "area": DONTCARE}
    asked = state_update(
        DialogueState(), nlu("I don't care"), vocabularies=VOCABULARIES, asked=["food"]
    )
    assert asked.values() == {"food": DONTCARE}


def test_low_confidence_and_negative_turns_are_counted_in_a_row() -> None:
    state = DialogueState()
    state = state_update(state, nlu("blah", score=0.2, negative=0.9))
    state = state_update(state, nlu("blah blah", oos=True, intent=None, negative=0.95))
    assert (state.low_confidence_turns, state.negative_turns) == (2, 2)
    state = state_update(state, nlu("ok thanks"))
    assert (state.low_confidence_turns, state.negative_turns) == (0, 0)
    assert state.intent_history == ("find_restaurant", "find_restaurant")


FREEZE = FlowSpec.from_json(
    {
        "name": "card_freeze",
        "intent": "lost_or_stolen_card",
        "slots": [
            {
                "name": "card_last4",
                "prompt": "What are the last four digits of the card?",
                "pattern": r"\b\d{4}\b",
                "invalid": "Please give the four last digits, like 1234.",
            },
            {
                "name": "reason",
                "prompt": "Was it lost or stolen?",
                "choices": {"lost": ["missing"], "stolen": ["theft"]},
            },
        ],
        "confirm": "Freeze the card ending {card_last4} ({reason})?",
        "result": "Done: the card ending {card_last4} is frozen.",
    }
)


def test_flow_asks_validates_confirms_and_acts() -> None:
    step = flow_step(FREEZE, DialogueState(turn=1), "my card is gone")
    assert (step.kind, step.slot) == ("ask", "card_last4")
    step = flow_step(FREEZE, step.state, "it's the one ending in 12")
    assert step.kind == "ask"
    assert step.message == "Please give the four last digits, like 1234."
    step = flow_step(FREEZE, step.state, "4821")
    assert (step.kind, step.slot) == ("ask", "reason")
    step = flow_step(FREEZE, step.state, "I think it was stolen")
    assert step.kind == "confirm"
    assert step.message == "Freeze the card ending 4821 (stolen)?"
    step = flow_step(FREEZE, step.state, "yes please")
    assert step.kind == "act"
    assert dict(step.values) == {"card_last4": "4821", "reason": "stolen"}
    assert step.state.slots["card_last4"].confirmed
    assert step.state.pending_question is None


def test_flow_takes_a_correction_at_confirmation() -> None:
    state = DialogueState(turn=1)
    for text in ("freeze my card", "4821", "lost"):
        step = flow_step(FREEZE, state, text)
        state = step.state
    assert step.kind == "confirm"
    step = flow_step(
        FREEZE,
        DialogueState(**{**state.__dict__, "turn": 4, "last_correction": True}),
        "no, the other card, 9930",
    )
    assert step.kind == "confirm"
    assert step.message == "Freeze the card ending 9930 (lost)?"
    # The next turn (the state update counts it): a bare "no".
    step = flow_step(FREEZE, replace(step.state, turn=step.state.turn + 1), "no")
    assert (step.kind, step.slot) == ("ask", "card_last4")


def test_flow_can_be_cancelled() -> None:
    step = flow_step(FREEZE, DialogueState(), "freeze my card")
    step = flow_step(FREEZE, step.state, "never mind, cancel")
    assert step.kind == "cancelled"
    assert step.state.pending_question is None


def test_https_actions_need_an_https_endpoint() -> None:
    with pytest.raises(ValueError, match="https:// endpoint"):
        FlowSpec.from_json(
            {
                "name": "x",
                "intent": "y",
                "slots": [],
                "confirm": "?",
                "action": "https",
                "endpoint": "http://x",
            }
        )


CONFIG = RoutingConfig(
    flows={"lost_or_stolen_card": FREEZE},
    smalltalk_intents=frozenset({"greeting"}),
    handoff_intents=frozenset({"contact_human_agent"}),
    sensitive_intents=frozenset({"compromised_card"}),
)


@pytest.mark.parametrize(
    ("result", "state", "route", "reason"),
    [
        (
            nlu("can I talk to a human please", intent="card_arrival"),
            DialogueState(),
            "handoff",
            "asked for a person",
        ),
        (nlu("x", intent="contact_human_agent"), DialogueState(), "handoff", "asked for a person"),
        (nlu("x", intent="compromised_card"), DialogueState(), "handoff", "sensitive"),
        (
            nlu("this is awful", negative=0.95),
            DialogueState(negative_turns=2),
            "handoff",
            "negative sentiment",
        ),
        (
            nlu("x", intent="lost_or_stolen_card"),
            DialogueState(),
            "flow",
            "starts flow card_freeze",
        ),
        (
            nlu("4821", intent="card_arrival", score=0.6),
            DialogueState(pending_question="slot:card_freeze:card_last4"),
            "flow",
            "waiting",
        ),
        (
            nlu("what is the exchange rate", intent="exchange_rate", score=0.95),
            DialogueState(pending_question="slot:card_freeze:card_last4"),
            "faq",
            "knowledge base",
        ),
        (nlu("hello", intent="greeting"), DialogueState(), "smalltalk", "small talk"),
        (
            nlu("asdf", score=0.3),
            DialogueState(low_confidence_turns=1),
            "clarify",
            "low confidence",
        ),
        (
            nlu("asdf", intent=None, oos=True),
            DialogueState(low_confidence_turns=2),
            "handoff",
            "2 turns in a row",
        ),
        (
            nlu("where is my card", intent="card_arrival"),
            DialogueState(),
            "faq",
            "card_arrival (0.90)",
        ),
    ],
)
def test_routing_decisions_and_reasons(
    result: NluResult, state: DialogueState, route: str, reason: str
) -> None:
    decision = route_decide(state, result, CONFIG)
    assert decision.name == route
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("can I talk to a human please", True),
        ("put me through to a customer service agent", True),
        ("operator please", True),
        ("转人工", True),
        ("are you a real person or a bot?", False),
        ("are you a human? put me through to a person", True),
        ("I want to transfer money to someone", False),
        ("how do I add a person to my account", False),
    ],
)
def test_asking_for_a_person(text: str, expected: bool) -> None:
    assert asks_for_person(text) is expected


def test_asking_whether_the_bot_is_human_is_not_a_handoff_even_on_a_handoff_intent() -> None:
    config = RoutingConfig(handoff_intents=frozenset({"contact_human_agent"}))
    asks = nlu("am I talking to a bot?", intent="contact_human_agent")
    assert route_decide(DialogueState(), asks, config).name != "handoff"
    wants = nlu("get me a human", intent="contact_human_agent")
    assert route_decide(DialogueState(), wants, config).name == "handoff"


def test_the_dictionary_catches_values_the_tagger_missed() -> None:
    price = SlotVocabulary(
        values={"moderate": ("reasonably priced",), "cheap": ()}, mentions=("price",)
    )
    state = state_update(
        DialogueState(),
        nlu("somewhere reasonably priced with thai food", slots=(("food", "thai"),)),
        vocabularies={**VOCABULARIES, "price_range": price},
    )
    assert state.values() == {"food": "thai", "price_range": "moderate"}


PRICE = SlotVocabulary(
    values={"moderate": ("not too expensive", "reasonably priced"), "expensive": (), "cheap": ()},
    mentions=("price", "price range"),
    dontcare=("price no object",),
)
WOZ = {"area": AREA, "food": FOOD, "price": PRICE}


def test_a_closed_slot_maps_partial_or_misspelt_spans_and_refuses_unknown_ones() -> None:
    assert FOOD.resolve("hinese", "some chinese food", 6, 12) == "chinese"  # a cut word
    assert PRICE.resolve("moderate priced") == "moderate"
    assert FOOD.resolve("chinnese") == "chinese"
    assert FOOD.resolve("anatolia") is None  # a restaurant's name, not a kind of food
    assert SlotVocabulary().resolve(" Anatolia ") == "Anatolia"  # an open slot takes it as it is
    state = state_update(
        DialogueState(), nlu("what about anatolia", slots=(("food", "anatolia"),)), vocabularies=WOZ
    )
    assert "food" not in state.values()


def test_first_choice_counts_unless_the_customer_corrects_it() -> None:
    first = state_update(
        DialogueState(),
        nlu("thai food, if not then chinese", slots=(("food", "thai"), ("food", "chinese"))),
        vocabularies=WOZ,
    )
    assert first.values()["food"] == "thai"
    switched = state_update(
        first,
        nlu("no thai? okay how about chinese", slots=(("food", "chinese"),)),
        vocabularies=WOZ,
    )
    assert switched.values()["food"] == "chinese"


def test_a_dictionary_phrase_beats_the_word_inside_it() -> None:
    state = state_update(
        DialogueState(),
        nlu("somewhere not too expensive", slots=(("price", "expensive"),)),
        vocabularies=WOZ,
    )
    assert state.values() == {"price": "moderate"}


def test_asking_about_a_value_does_not_set_it() -> None:
    state = state_update(
        DialogueState(),
        nlu("how expensive is it?", slots=(("price", "expensive"),)),
        vocabularies=WOZ,
    )
    assert "price" not in state.values()


def test_no_to_a_slot_question_and_any_value_phrases_mean_dontcare() -> None:
    state = state_update(DialogueState(), nlu("No."), vocabularies=WOZ, asked=["price"])
    assert state.values() == {"price": DONTCARE}
    state = state_update(
        DialogueState(), nlu("No. What is the address?"), vocabularies=WOZ, asked=["price"]
    )
    assert state.values() == {"price": DONTCARE}
    state = state_update(DialogueState(), nlu("Not tonight"), vocabularies=WOZ, asked=["price"])
    assert state.values() == {}
    state = state_update(DialogueState(), nlu("thai, price no object"), vocabularies=WOZ)
    assert state.values() == {"food": "thai", "price": DONTCARE}
    state = state_update(DialogueState(), nlu("No particular area please"), vocabularies=WOZ)
    assert state.values() == {"area": DONTCARE}


def test_a_value_the_bot_offered_is_taken_unless_turned_down() -> None:
    taken = state_update(
        DialogueState(),
        nlu("sounds good, what's the address?"),
        vocabularies=WOZ,
        offered={"food": "thai"},
    )
    assert taken.values() == {"food": "thai"}
    refused = state_update(
        DialogueState(), nlu("no, something else"), vocabularies=WOZ, offered={"food": "thai"}
    )
    assert refused.values() == {}
    # Asked for chinese, offered thai instead, and took it.
    switched = state_update(
        state_update(DialogueState(), nlu("chinese food please"), vocabularies=WOZ),
        nlu("ok, can I have their number?"),
        vocabularies=WOZ,
        offered={"food": "thai"},
    )
    assert switched.values() == {"food": "thai"}
    kept = state_update(
        switched, nlu("is there any other place?"), vocabularies=WOZ, offered={"food": "chinese"}
    )
    assert kept.values() == {"food": "thai"}


def test_the_message_that_starts_a_flow_is_not_a_cancellation() -> None:
    spec = FlowSpec.from_json(
        {
            "name": "cancel_transfer",
            "intent": "cancel_transfer",
            "slots": [{"name": "ref", "prompt": "Which transfer?", "pattern": r"\bTR-\d{4,8}\b"}],
            "confirm": "Cancel {ref}?",
        }
    )
    step = flow_step(spec, DialogueState(), "I need to cancel a transfer")
    assert (step.kind, step.message) == ("ask", "Which transfer?")
    step = flow_step(spec, step.state, "cancel it, never mind")
    assert step.kind == "cancelled"


FLOW_CONFIG = RoutingConfig(flows={"lost_or_stolen_card": FREEZE}, min_confidence=0.5)


def test_an_answer_to_the_flows_question_stays_in_the_flow_whatever_the_intent() -> None:
    waiting = DialogueState(turn=2, pending_question="slot:card_freeze:card_last4")
    answer = route_decide(waiting, nlu("ok here it is 4821", "transfer_timing", 0.95), FLOW_CONFIG)
    assert (answer.name, answer.flow) == ("flow", "card_freeze")


def test_a_question_mid_flow_leaves_it_for_a_turn_even_when_not_very_confident() -> None:
    waiting = DialogueState(turn=2, pending_question="slot:card_freeze:card_last4")
    question = nlu("quick one, how long do transfers take?", "transfer_timing", 0.6)
    assert route_decide(waiting, question, FLOW_CONFIG).name == "faq"
    # Not a question, and not confident enough to switch: the flow asks again.
    statement = nlu("the transfer thing", "transfer_timing", 0.6)
    assert route_decide(waiting, statement, FLOW_CONFIG).name == "flow"


def test_an_unsure_flow_intent_with_the_flows_details_starts_the_flow() -> None:
    start = DialogueState(turn=1)
    details = nlu("still nothing, the one ending 4821", "lost_or_stolen_card", 0.3)
    assert route_decide(start, details, FLOW_CONFIG).name == "flow"
    vague = nlu("still nothing", "lost_or_stolen_card", 0.3)
    assert route_decide(start, vague, FLOW_CONFIG).name == "clarify"
    flagged = replace(nlu("no news, card 4821", "lost_or_stolen_card", 0.6), is_oos=True)
    assert route_decide(start, flagged, FLOW_CONFIG).name == "flow"


def test_yes_cancel_it_at_the_confirmation_confirms() -> None:
    state = DialogueState(turn=1)
    for text in ("freeze my card", "4821", "lost"):
        state = flow_step(FREEZE, state, text).state
    assert flow_step(FREEZE, state, "yes, cancel it").kind == "act"
    assert flow_step(FREEZE, state, "对，取消吧").kind == "act"
    assert flow_step(FREEZE, state, "never mind").kind == "cancelled"


def test_a_pattern_finds_digits_next_to_chinese() -> None:
    step = flow_step(FREEZE, DialogueState(turn=1), "卡号后四位是7316")
    assert step.state.slots["card_last4"].value == "7316"


def test_a_sensitive_intent_read_first_hands_off_even_when_flagged_out_of_scope() -> None:
    flagged = replace(nlu("the dress arrived torn", "compromised_card", 0.4), is_oos=True)
    decision = route_decide(DialogueState(), flagged, CONFIG)
    assert (decision.name, decision.intent) == ("handoff", "compromised_card")


def test_a_question_whether_the_bot_is_a_person_is_answered_in_chinese_too() -> None:
    text = "你们是真人吗？"
    decision = route_decide(
        DialogueState(), nlu(text, intent=None), CONFIG, control=control_read(text)
    )
    assert (decision.name, decision.reason) == ("smalltalk", "conversation control: ask_bot")


def test_a_second_run_of_a_flow_asks_again_for_what_the_first_run_confirmed() -> None:
    state = DialogueState(turn=1)
    for text in ("freeze my card", "4821", "lost", "yes"):
        state = flow_step(FREEZE, state, text).state
    again = flow_step(FREEZE, replace(state, turn=6), "I lost another card")
    assert (again.kind, again.slot) == ("ask", "card_last4")


def test_ok_at_the_confirmation_is_a_yes_and_thanks_mid_flow_is_small_talk() -> None:
    confirming = DialogueState(turn=3, pending_question="confirm:card_freeze")
    ok = route_decide(confirming, nlu("ok", intent=None), CONFIG, control=control_read("ok"))
    assert (ok.name, ok.flow) == ("flow", "card_freeze")
    asking = DialogueState(turn=2, pending_question="slot:card_freeze:card_last4")
    thanks = route_decide(
        asking, nlu("thanks", intent=None), CONFIG, control=control_read("thanks")
    )
    assert thanks.name == "smalltalk"
