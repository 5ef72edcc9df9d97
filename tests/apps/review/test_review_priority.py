from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User, Workspace
from apps.review.models import ReviewItem
from apps.review.services.harvest import review_harvest
from apps.review.services.priority import (
    item_priority,
    review_items_cluster,
    review_items_embed,
    turn_uncertainty,
)
from apps.review.services.queue import review_items_next
from tests.apps.review.conftest import make_item, make_turn

pytestmark = pytest.mark.django_db


def test_uncertainty_is_one_minus_the_top_two_margin() -> None:
    ranking = {"intents": [{"name": "a", "score": 0.6}, {"name": "b", "score": 0.25}]}
    assert turn_uncertainty(ranking) == pytest.approx(0.65)
    assert turn_uncertainty({"intents": [{"name": "a", "score": 0.9}]}) == pytest.approx(0.1)
    assert turn_uncertainty({"intents": [], "oos": False}) == 1.0
    assert turn_uncertainty({"intents": [{"name": "a", "score": 0.9}], "oos": True}) == 1.0


def test_priority_formula() -> None:
    assert item_priority(uncertainty=0.9, labelled_in_cluster=0) == pytest.approx(0.95)
    assert item_priority(uncertainty=0.8, labelled_in_cluster=4) == pytest.approx(0.5)


def test_uncertain_item_of_an_unlabelled_cluster_comes_before_covered_ones(
    workspace_a: Workspace, operators: list[User]
) -> None:
    now = timezone.now()
    for n in range(4):  # the card cluster is well covered
        make_item(
            workspace_a,
            f"card labelled {n}",
            status="done",
            final_intent="card_lost",
            finalized_at=now,
        )
    # Newest first by time, so recency alone would put these in the opposite order.
    confidentish = make_item(workspace_a, "card fee again", uncertainty=0.5, turn_at=now)
    uncertain_covered = make_item(
        workspace_a, "card something", uncertainty=0.8, turn_at=now - timedelta(minutes=1)
    )
    unlabelled = make_item(
        workspace_a, "pizza delivery?", uncertainty=0.9, turn_at=now - timedelta(hours=2)
    )
    less_sure_unlabelled = make_item(
        workspace_a, "pizza toppings", uncertainty=0.4, turn_at=now - timedelta(hours=3)
    )
    assert review_items_embed(workspace=workspace_a) == 8
    assert review_items_cluster(workspace=workspace_a) == 2

    batch = review_items_next(workspace=workspace_a, user=operators[0], limit=4)

    assert [e.item.id for e in batch] == [
        unlabelled.id,  # 0.5*0.9 + 0.5/1 = 0.95
        uncertain_covered.id,  # 0.5*0.8 + 0.5/5 = 0.50
        less_sure_unlabelled.id,  # 0.5*0.4 + 0.5/2 (pizza counted once for the batch) = 0.45
        confidentish.id,  # 0.5*0.5 + 0.5/6 = 0.333
    ]
    assert [e.priority for e in batch] == pytest.approx([0.95, 0.5, 0.45, 0.25 + 0.5 / 6])
    assert [e.labelled_in_cluster for e in batch] == [0, 4, 1, 5]


def test_harvested_items_are_clustered_by_topic(workspace_a: Workspace) -> None:
    for n in range(3):
        make_turn(workspace_a, f"card issue {n}", ranking=(("card_lost", 0.3),))
        make_turn(workspace_a, f"refund issue {n}", ranking=(("refund_status", 0.3),))
    review_harvest(workspace=workspace_a)
    clusters = dict(ReviewItem.objects.values_list("text", "cluster"))
    assert len(set(clusters.values())) == 2
    assert clusters["card issue 0"] == clusters["card issue 1"] == clusters["card issue 2"]
    assert clusters["refund issue 0"] == clusters["refund issue 2"] != clusters["card issue 0"]
