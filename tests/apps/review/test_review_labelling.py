from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import Role, User, Workspace
from apps.core.exceptions import ApplicationError, Conflict
from apps.review.contracts import OUT_OF_SCOPE_LABEL, ReviewedLabel
from apps.review.models import ReviewItem
from apps.review.selectors import reviewed_labels
from apps.review.services.queue import (
    review_adjudicate,
    review_item_skip,
    review_items_next,
    review_label_submit,
)
from tests.apps.review.conftest import make_item

pytestmark = pytest.mark.django_db


def test_single_label_is_final(
    workspace_a: Workspace, intents: list[str], operators: list[User]
) -> None:
    item = make_item(workspace_a, "my card is gone <PAYMENT_CARD_1>")
    slots = [{"slot": "card", "start": 16, "end": 32}]

    review_label_submit(
        workspace=workspace_a, item_id=item.id, user=operators[0], intent="card_lost", slots=slots
    )

    item.refresh_from_db()
    assert (item.status, item.final_source, item.final_intent) == ("done", "single", "card_lost")
    [label] = reviewed_labels(workspace=workspace_a)
    assert label == ReviewedLabel(
        text="my card is gone <PAYMENT_CARD_1>",
        label="card_lost",
        source="single",
        labeller=operators[0].username,
        item_id=item.id,
        labelled_at=item.finalized_at,  # type: ignore[arg-type]
        slots=({"slot": "card", "start": 16, "end": 32},),
    )
    with pytest.raises(Conflict):
        review_label_submit(
            workspace=workspace_a, item_id=item.id, user=operators[1], intent="card_lost"
        )


def test_label_must_be_an_intent_of_the_workspace_or_out_of_scope(
    workspace_a: Workspace, intents: list[str], operators: list[User]
) -> None:
    item = make_item(workspace_a, "hello")
    for kwargs in ({"intent": "not_ours"}, {}, {"intent": "card_lost", "out_of_scope": True}):
        with pytest.raises(ApplicationError):
            review_label_submit(workspace=workspace_a, item_id=item.id, user=operators[0], **kwargs)
    with pytest.raises(ApplicationError):
        review_label_submit(
            workspace=workspace_a,
            item_id=item.id,
            user=operators[0],
            intent="card_lost",
            slots=[{"slot": "card", "start": 2, "end": 99}],
        )
    review_label_submit(
        workspace=workspace_a, item_id=item.id, user=operators[0], out_of_scope=True
    )
    assert [x.label for x in reviewed_labels(workspace=workspace_a)] == [OUT_OF_SCOPE_LABEL]


def test_double_labelled_item_goes_to_two_different_people(
    workspace_a: Workspace,
    intents: list[str],
    operators: list[User],
    member_of: Callable[..., User],
) -> None:
    double = make_item(workspace_a, "card double", labels_required=2, uncertainty=0.9)
    single = make_item(workspace_a, "card single", labels_required=1, uncertainty=0.8)
    first, second = operators
    third = member_of(workspace_a, Role.OPERATOR)

    assert [e.item.id for e in review_items_next(workspace=workspace_a, user=first)] == [
        double.id,
        single.id,
    ]
    # The single item is leased to the first; the double one still has a place.
    assert [e.item.id for e in review_items_next(workspace=workspace_a, user=second)] == [double.id]
    assert review_items_next(workspace=workspace_a, user=third) == []
    # The first asks again: their leases hold.
    assert len(review_items_next(workspace=workspace_a, user=first)) == 2

    review_label_submit(workspace=workspace_a, item_id=double.id, user=first, intent="card_lost")
    with pytest.raises(Conflict):
        review_label_submit(
            workspace=workspace_a, item_id=double.id, user=first, intent="card_lost"
        )
    assert [e.item.id for e in review_items_next(workspace=workspace_a, user=first)] == [single.id]
    review_label_submit(workspace=workspace_a, item_id=double.id, user=second, intent="card_lost")

    double.refresh_from_db()
    assert (double.status, double.final_source) == ("done", "agreed")
    assert set(double.labels.values_list("labeller_id", flat=True)) == {first.id, second.id}
    [label] = reviewed_labels(workspace=workspace_a)
    assert label.labeller == f"{first.username}+{second.username}"


def test_expired_lease_frees_the_place(workspace_a: Workspace, operators: list[User]) -> None:
    item = make_item(workspace_a, "card single")
    review_items_next(workspace=workspace_a, user=operators[0])
    later = timezone.now() + timedelta(minutes=16)
    assert [
        e.item.id for e in review_items_next(workspace=workspace_a, user=operators[1], now=later)
    ] == [item.id]


def test_skipped_item_goes_to_others_not_back(
    workspace_a: Workspace, operators: list[User]
) -> None:
    item = make_item(workspace_a, "card single")
    review_items_next(workspace=workspace_a, user=operators[0])
    review_item_skip(workspace=workspace_a, item_id=item.id, user=operators[0])
    assert review_items_next(workspace=workspace_a, user=operators[0]) == []
    assert [e.item.id for e in review_items_next(workspace=workspace_a, user=operators[1])] == [
        item.id
    ]


def test_disagreement_goes_to_adjudication_and_the_admin_decides(
    workspace_a: Workspace, intents: list[str], operators: list[User], admin_a: User
) -> None:
    item = make_item(workspace_a, "refund for card", labels_required=2)
    review_label_submit(
        workspace=workspace_a, item_id=item.id, user=operators[0], intent="card_lost"
    )
    with pytest.raises(Conflict):
        review_adjudicate(workspace=workspace_a, item_id=item.id, user=admin_a, intent="card_lost")
    review_label_submit(
        workspace=workspace_a, item_id=item.id, user=operators[1], intent="refund_status"
    )
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.ADJUDICATION
    assert reviewed_labels(workspace=workspace_a) == []
    assert review_items_next(workspace=workspace_a, user=admin_a) == []

    review_adjudicate(workspace=workspace_a, item_id=item.id, user=admin_a, intent="refund_status")

    [label] = reviewed_labels(workspace=workspace_a)
    assert (label.label, label.source, label.labeller) == (
        "refund_status",
        "adjudicated",
        admin_a.username,
    )
    with pytest.raises(Conflict):
        review_adjudicate(workspace=workspace_a, item_id=item.id, user=admin_a, intent="card_lost")
