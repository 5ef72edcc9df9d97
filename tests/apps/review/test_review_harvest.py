from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import Role, User, Workspace
from apps.chat.models import Conversation
from apps.feedback.models import MessageFeedback
from apps.review.contracts import WeakLabelRecord
from apps.review.models import HandoffOutcome, ReviewItem, ReviewSettings
from apps.review.selectors import reviewed_labels, weak_labels
from apps.review.services.harvest import double_label_draw, review_harvest
from apps.review.tasks import review_harvest_workspace
from tests.apps.review.conftest import make_turn
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db

CONFIDENT = (("card_lost", 0.95), ("refund_status", 0.02))


def _thumb(trace_reply_id: int, workspace: Workspace, rating: str) -> None:
    MessageFeedback.objects.update_or_create(
        message_id=trace_reply_id, defaults={"workspace": workspace, "rating": rating}
    )


def _reasons(workspace: Workspace) -> dict[str, list[str]]:
    return dict(ReviewItem.objects.filter(workspace=workspace).values_list("text", "reasons"))


def _handed_off(workspace: Workspace) -> Conversation:
    """faq answer, then "a person please" routed to handoff, then the handoff."""
    conversation = ConversationFactory(workspace=workspace)
    make_turn(workspace, "my card was swallowed", ranking=CONFIDENT, conversation=conversation)
    make_turn(workspace, "agent please", route="handoff", conversation=conversation)
    conversation.handoff_requested_at = timezone.now()
    conversation.status = Conversation.Status.WAITING_FOR_AGENT
    conversation.save()
    return conversation


def test_harvest_queues_exactly_the_unsure_turns_with_their_reasons(
    workspace_a: Workspace, intents: list[str]
) -> None:
    make_turn(workspace_a, "confident card turn", ranking=CONFIDENT)
    make_turn(workspace_a, "vague card thing", ranking=(("card_lost", 0.41), ("loan_rates", 0.3)))
    make_turn(
        workspace_a, "weather today", ranking=(("card_lost", 0.7),), oos=True, route="clarify"
    )
    make_turn(workspace_a, "hm refund?", ranking=(("refund_status", 0.65),), route="clarify")
    disliked = make_turn(workspace_a, "card blocked why", ranking=CONFIDENT)
    _thumb(disliked.reply_message_id, workspace_a, MessageFeedback.Rating.DOWN)  # type: ignore[arg-type]
    liked = make_turn(workspace_a, "card replacement", ranking=CONFIDENT)
    _thumb(liked.reply_message_id, workspace_a, MessageFeedback.Rating.UP)  # type: ignore[arg-type]
    _handed_off(workspace_a)
    old = make_turn(
        workspace_a,
        "ancient card question",
        ranking=(("card_lost", 0.2),),
        at=timezone.now() - timedelta(days=31),
    )

    result = review_harvest(workspace=workspace_a)

    assert _reasons(workspace_a) == {
        "vague card thing": ["low_confidence"],
        "weather today": ["out_of_scope", "clarify"],
        "hm refund?": ["clarify"],
        "card blocked why": ["thumbs_down"],
        "my card was swallowed": ["handoff_after_answer"],
    }
    assert (result.created, result.updated, result.removed) == (5, 0, 0)
    assert not ReviewItem.objects.filter(trace=old).exists()
    item = ReviewItem.objects.get(text="vague card thing")
    assert item.predicted_intent == "card_lost"
    assert item.suggestions == [
        {"name": "card_lost", "score": 0.41},
        {"name": "loan_rates", "score": 0.3},
    ]
    assert item.uncertainty == pytest.approx(1 - (0.41 - 0.3))
    assert ReviewItem.objects.get(text="weather today").uncertainty == 1.0
    assert item.embedding is not None
    assert item.cluster is not None


def test_harvest_is_idempotent(workspace_a: Workspace, intents: list[str]) -> None:
    make_turn(workspace_a, "vague card thing", ranking=(("card_lost", 0.41),))
    make_turn(workspace_a, "weather today", oos=True, route="clarify")
    _handed_off(workspace_a)
    review_harvest(workspace=workspace_a)
    before = list(ReviewItem.objects.values_list("id", "text", "reasons", "cluster"))

    again = review_harvest(workspace=workspace_a)
    review_harvest_workspace(workspace_a.id)

    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    assert list(ReviewItem.objects.values_list("id", "text", "reasons", "cluster")) == before


def test_reason_that_goes_away_takes_an_unlabelled_item_with_it(
    workspace_a: Workspace, intents: list[str]
) -> None:
    trace = make_turn(workspace_a, "card blocked why", ranking=CONFIDENT)
    _thumb(trace.reply_message_id, workspace_a, MessageFeedback.Rating.DOWN)  # type: ignore[arg-type]
    review_harvest(workspace=workspace_a)
    _thumb(trace.reply_message_id, workspace_a, MessageFeedback.Rating.UP)  # type: ignore[arg-type]

    result = review_harvest(workspace=workspace_a)

    assert result.removed == 1
    assert not ReviewItem.objects.exists()


def test_item_text_is_the_stored_redacted_text(workspace_a: Workspace) -> None:
    make_turn(workspace_a, "my card <PAYMENT_CARD_1> is lost", ranking=(("card_lost", 0.3),))
    review_harvest(workspace=workspace_a)
    assert ReviewItem.objects.get().text == "my card <PAYMENT_CARD_1> is lost"


def test_agent_outcome_marks_the_judged_turn_corrected_and_gives_weak_labels(
    workspace_a: Workspace, intents: list[str], member_of: Callable[..., User]
) -> None:
    conversation = _handed_off(workspace_a)
    liked = make_turn(workspace_a, "card replacement", ranking=CONFIDENT)
    _thumb(liked.reply_message_id, workspace_a, MessageFeedback.Rating.UP)  # type: ignore[arg-type]
    unknown = make_turn(workspace_a, "refund where", route="faq")
    _thumb(unknown.reply_message_id, workspace_a, MessageFeedback.Rating.UP)  # type: ignore[arg-type]
    disliked_oos = make_turn(workspace_a, "weather now", oos=True, route="faq")
    _thumb(disliked_oos.reply_message_id, workspace_a, MessageFeedback.Rating.UP)  # type: ignore[arg-type]
    HandoffOutcome.objects.create(
        workspace=workspace_a,
        conversation=conversation,
        agent=member_of(workspace_a, Role.AGENT),
        resolved_intent="refund_status",
        bot_answer_wrong=True,
    )

    review_harvest(workspace=workspace_a)

    assert _reasons(workspace_a)["my card was swallowed"] == [
        "handoff_after_answer",
        "agent_corrected",
    ]
    weak = sorted((w.rule, w.text, w.label, w.negative) for w in weak_labels(workspace=workspace_a))
    assert weak == [
        ("agent_marked_wrong", "my card was swallowed", "card_lost", True),
        ("agent_resolved_intent", "my card was swallowed", "refund_status", False),
        ("thumbs_up_knowledge_answer", "card replacement", "card_lost", False),
        ("thumbs_up_knowledge_answer", "refund where", "", False),
    ]
    assert all(isinstance(w, WeakLabelRecord) for w in weak_labels(workspace=workspace_a))
    # Weak labels never show up among reviewed ones.
    assert reviewed_labels(workspace=workspace_a) == []
    assert review_harvest(workspace=workspace_a).weak_labels == 4


def test_agent_resolving_under_the_predicted_intent_rejects_no_intent(
    workspace_a: Workspace, intents: list[str]
) -> None:
    conversation = _handed_off(workspace_a)
    HandoffOutcome.objects.create(
        workspace=workspace_a,
        conversation=conversation,
        resolved_intent="card_lost",
        bot_answer_wrong=True,
    )
    review_harvest(workspace=workspace_a)
    assert _reasons(workspace_a) == {
        "my card was swallowed": ["handoff_after_answer", "agent_corrected"]
    }
    assert [(w.rule, w.label) for w in weak_labels(workspace=workspace_a)] == [
        ("agent_resolved_intent", "card_lost")
    ]


def test_double_labelling_share_is_drawn_per_turn(
    workspace_a: Workspace, operators: list[User]
) -> None:
    ReviewSettings.objects.create(workspace=workspace_a, double_label_share=0.5)
    traces = [
        make_turn(workspace_a, f"card question {n}", ranking=(("card_lost", 0.2),))
        for n in range(40)
    ]
    review_harvest(workspace=workspace_a)
    expected = {
        t.id: 2 if double_label_draw(workspace_id=workspace_a.id, trace_id=t.id) < 0.5 else 1
        for t in traces
    }
    assert dict(ReviewItem.objects.values_list("trace_id", "labels_required")) == expected
    assert 10 <= list(expected.values()).count(2) <= 30


def test_one_labeller_means_single_labels(
    workspace_a: Workspace, member_of: Callable[..., User]
) -> None:
    member_of(workspace_a, Role.OPERATOR)
    ReviewSettings.objects.create(workspace=workspace_a, double_label_share=1.0)
    make_turn(workspace_a, "card question", ranking=(("card_lost", 0.2),))
    review_harvest(workspace=workspace_a)
    assert ReviewItem.objects.get().labels_required == 1
