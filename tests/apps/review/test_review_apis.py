from collections.abc import Callable

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Role, User, Workspace
from apps.chat.models import Conversation
from apps.nlu.models import Intent
from apps.review.models import HandoffOutcome, ReviewItem
from apps.review.services.queue import review_label_submit
from tests.apps.review.conftest import make_item
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def _url(workspace: Workspace, rest: str) -> str:
    return f"/api/v1/workspaces/{workspace.slug}/review/{rest}"


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_operator_labels_from_the_queue(
    workspace_a: Workspace, intents: list[str], operators: list[User]
) -> None:
    item = make_item(
        workspace_a,
        "card gone",
        suggestions=[{"name": "card_lost", "score": 0.4}],
        reasons=["low_confidence"],
    )
    client = _client(operators[0])

    queue = client.get(_url(workspace_a, "queue/"), {"limit": 5})
    assert queue.status_code == 200
    assert queue.json()["counts"] == {"open": 1, "adjudication": 0, "done": 0}
    [entry] = queue.json()["results"]
    assert entry["item"]["id"] == item.id
    assert entry["item"]["suggestions"] == [{"name": "card_lost", "score": 0.4}]
    assert entry["priority"] == pytest.approx(0.5 * 1.0 + 0.5)

    done = client.post(
        _url(workspace_a, f"items/{item.id}/label/"), {"intent": "card_lost"}, format="json"
    )
    assert done.status_code == 201
    assert (done.json()["status"], done.json()["final_intent"]) == ("done", "card_lost")
    again = client.post(
        _url(workspace_a, f"items/{item.id}/label/"), {"out_of_scope": True}, format="json"
    )
    assert again.status_code == 409
    other = make_item(workspace_a, "card again")
    bad = client.post(
        _url(workspace_a, f"items/{other.id}/label/"), {"intent": "nope"}, format="json"
    )
    assert bad.status_code == 400


def test_adjudication_is_for_admins(
    workspace_a: Workspace, intents: list[str], operators: list[User], admin_a: User
) -> None:
    item = make_item(workspace_a, "refund card", labels_required=2)
    review_label_submit(
        workspace=workspace_a, item_id=item.id, user=operators[0], intent="card_lost"
    )
    review_label_submit(
        workspace=workspace_a, item_id=item.id, user=operators[1], out_of_scope=True
    )
    url = _url(workspace_a, f"items/{item.id}/adjudicate/")
    assert _client(operators[0]).get(_url(workspace_a, "adjudication/")).status_code == 403
    assert (
        _client(operators[0]).post(url, {"intent": "card_lost"}, format="json").status_code == 403
    )

    disputed = _client(admin_a).get(_url(workspace_a, "adjudication/")).json()["results"]
    assert [(x["labeller"], x["intent"], x["out_of_scope"]) for x in disputed[0]["labels"]] == [
        (operators[0].username, "card_lost", False),
        (operators[1].username, "", True),
    ]
    answer = _client(admin_a).post(url, {"intent": "refund_status"}, format="json")
    assert answer.status_code == 201
    assert (answer.json()["final_source"], answer.json()["final_intent"]) == (
        "adjudicated",
        "refund_status",
    )


def test_kappa_per_pair_matches_the_hand_computation(
    workspace_a: Workspace, intents: list[str], operators: list[User]
) -> None:
    # a: card x5, refund x4, oos x1; b agrees on 8 of 10 (items 4 and 8 swapped).
    a = ["card_lost"] * 5 + ["refund_status"] * 4 + ["oos"]
    b = ["card_lost"] * 4 + ["refund_status"] * 4 + ["card_lost", "oos"]
    for n, (first, second) in enumerate(zip(a, b, strict=True)):
        item = make_item(workspace_a, f"text {n}", labels_required=2)
        for user, label in ((operators[0], first), (operators[1], second)):
            kwargs = {"out_of_scope": True} if label == "oos" else {"intent": label}
            review_label_submit(workspace=workspace_a, item_id=item.id, user=user, **kwargs)
    # p_o = 8/10; p_e = (5*5 + 4*4 + 1*1) / 100 = 0.42; kappa = (0.8 - 0.42) / 0.58
    expected = (0.8 - 0.42) / 0.58

    body = _client(operators[0]).get(_url(workspace_a, "agreement/")).json()

    [pair] = body["pairs"]
    names = sorted(u.username for u in operators)
    assert (pair["first"], pair["second"], pair["items"]) == (names[0], names[1], 10)
    assert pair["kappa"] == pytest.approx(expected)
    assert pair["observed"] == pytest.approx(0.8)
    assert pair["expected"] == pytest.approx(0.42)
    # card_lost one-vs-rest: a 5 yes, b 5 yes, agree on 8 -> p_e = .5*.5+.5*.5 = .5, kappa .6
    assert pair["per_intent"]["card_lost"]["kappa"] == pytest.approx(0.6)
    assert {x["intent"]: x["kappa"] for x in body["intents"]}["card_lost"] == pytest.approx(0.6)
    assert body["bar"] == 0.8
    assert sorted(body["flagged"]) == names
    assert all(x["flagged"] for x in body["labellers"])
    assert ReviewItem.objects.filter(status="adjudication").count() == 2


def test_agent_records_a_handoff_outcome(
    workspace_a: Workspace, intents: list[str], member_of: Callable[..., User]
) -> None:
    agent = member_of(workspace_a, Role.AGENT)
    conversation = ConversationFactory(
        workspace=workspace_a,
        handoff_requested_at=timezone.now(),
        status=Conversation.Status.WITH_AGENT,
    )
    url = _url(workspace_a, f"handoff-outcomes/{conversation.id}/")
    body = {"resolved_intent": "refund_status", "bot_answer_wrong": True}
    # The console's form: the intents to choose from, nothing recorded yet.
    form = _client(agent).get(url).json()
    assert form == {"handed_off": True, "intents": sorted(intents), "outcome": None}

    assert _client(agent).put(url, body, format="json").status_code == 200
    recorded = _client(agent).get(url).json()["outcome"]
    assert (recorded["resolved_intent"], recorded["bot_answer_wrong"]) == ("refund_status", True)
    outcome = HandoffOutcome.objects.get()
    assert (outcome.resolved_intent, outcome.bot_answer_wrong, outcome.agent) == (
        "refund_status",
        True,
        agent,
    )
    # Agents don't label; operators don't record outcomes.
    assert _client(agent).get(_url(workspace_a, "queue/")).status_code == 403
    operator = member_of(workspace_a, Role.OPERATOR)
    assert _client(operator).put(url, body, format="json").status_code == 403
    never = ConversationFactory(workspace=workspace_a)
    assert (
        _client(agent)
        .put(_url(workspace_a, f"handoff-outcomes/{never.id}/"), body, format="json")
        .status_code
        == 409
    )


def test_settings_read_by_labellers_changed_by_admins(
    workspace_a: Workspace, operators: list[User], admin_a: User
) -> None:
    url = _url(workspace_a, "settings/")
    assert _client(operators[0]).get(url).json()["double_label_share"] == 0.2
    assert _client(operators[0]).patch(url, {"double_label_share": 0.5}).status_code == 403
    changed = _client(admin_a).patch(url, {"double_label_share": 0.5}, format="json")
    assert changed.json()["double_label_share"] == 0.5
    assert _client(admin_a).patch(url, {"double_label_share": 2}, format="json").status_code == 400


def test_another_workspaces_user_gets_404_everywhere_and_sees_no_items(
    workspace_a: Workspace,
    workspace_b: Workspace,
    intents: list[str],
    member_of: Callable[..., User],
) -> None:
    item_a = make_item(workspace_a, "card of a", labels_required=2)
    conversation_a = ConversationFactory(workspace=workspace_a, handoff_requested_at=timezone.now())
    Intent.objects.create(workspace=workspace_b, name="card_lost")
    admin_b = member_of(workspace_b, Role.ADMIN)
    client = _client(admin_b)
    calls = [
        ("get", "queue/", None),
        ("get", "items/", None),
        ("post", f"items/{item_a.id}/label/", {"intent": "card_lost"}),
        ("post", f"items/{item_a.id}/skip/", None),
        ("get", "adjudication/", None),
        ("post", f"items/{item_a.id}/adjudicate/", {"intent": "card_lost"}),
        ("get", "agreement/", None),
        ("get", "settings/", None),
        ("patch", "settings/", {"double_label_share": 1}),
        ("put", f"handoff-outcomes/{conversation_a.id}/", {"resolved_intent": "card_lost"}),
    ]
    for method, rest, body in calls:
        response = getattr(client, method)(_url(workspace_a, rest), body, format="json")
        assert response.status_code == 404, (method, rest, response.status_code)
        if str(item_a.id) in rest or str(conversation_a.id) in rest:
            # In their own workspace, A's ids don't exist either.
            own = getattr(client, method)(_url(workspace_b, rest), body, format="json")
            assert own.status_code == 404, (method, rest, own.status_code)
    assert client.get(_url(workspace_b, "queue/")).json()["results"] == []
    assert client.get(_url(workspace_b, "items/")).json()["results"] == []
    anonymous = APIClient().get(_url(workspace_a, "queue/"))
    assert anonymous.status_code in (401, 403)
    item_a.refresh_from_db()
    assert not item_a.labels.exists()
    assert not item_a.assignments.exists()
