"""A member of workspace A can't read or change anything of workspace B through any endpoint."""

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from apps.accounts.models import Invitation, Role
from apps.dialogue.models import TurnTrace
from apps.knowledge.models import AnswerVariable, Article, Document, Entity, Relation
from apps.mlops.models import ModelVersion
from apps.nlu.models import Intent, TrainingExample, TrainingRun
from apps.review.models import ReviewItem
from tests.factories import ConversationFactory, MembershipFactory, MessageFactory


def _api_routes_with_workspace() -> list[tuple[str, list[str]]]:
    """(url name, kwargs) of every API route under workspaces/<workspace_slug>/."""
    found = []

    def walk(patterns: list[URLPattern | URLResolver], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif (
                namespace.startswith("v1:")
                and pattern.name
                and "workspace_slug" in pattern.pattern.regex.groupindex
            ):
                found.append((namespace + pattern.name, list(pattern.pattern.regex.groupindex)))

    walk(get_resolver().url_patterns, "")
    return found


@pytest.fixture
def b_objects(workspace_b: Any) -> dict[str, Any]:
    conversation = ConversationFactory(workspace=workspace_b)
    message = MessageFactory(conversation=conversation, text="B's secret")
    membership = MembershipFactory(workspace=workspace_b, role=Role.ADMIN)
    invitation = Invitation.objects.create(
        workspace=workspace_b,
        email="b-secret@example.com",
        role=Role.AGENT,
        token_hash="b" * 64,
        expires_at="2999-01-01T00:00Z",
    )
    article = Article.objects.create(workspace=workspace_b, title="B's secret", body="B's secret")
    document = Document.objects.create(
        workspace=workspace_b, filename="b.txt", format="text", content=b"B's secret"
    )
    head = Entity.objects.create(workspace=workspace_b, key="c:b-one", name="B's secret")
    tail = Entity.objects.create(workspace=workspace_b, key="c:b-two", name="B two")
    relation = Relation.objects.create(workspace=workspace_b, head=head, tail=tail)
    intent = Intent.objects.create(workspace=workspace_b, name="b-secret", description="B's secret")
    TrainingExample.objects.create(workspace=workspace_b, intent=intent, text="B's secret")
    run = TrainingRun.objects.create(workspace=workspace_b, error="B's secret")
    trace = TurnTrace.objects.create(
        workspace=workspace_b, conversation=conversation, customer_message=message, intent="x"
    )
    variable = AnswerVariable.objects.create(
        workspace=workspace_b, name="B's secret", key="bssecret", value="B's secret"
    )
    version = ModelVersion.objects.create(
        workspace=workspace_b,
        kind="nlu",
        number=1,
        artifact_path="/nowhere",
        evaluation={"note": "B's secret"},
    )
    item = ReviewItem.objects.create(
        workspace=workspace_b, text="B's secret", reasons=["low_confidence"], turn_at=timezone.now()
    )
    return {
        "workspace_slug": workspace_b.slug,
        "conversation_id": conversation.id,
        "member_id": membership.id,
        "invitation_id": invitation.id,
        "variable_id": variable.id,
        "message_id": message.id,
        "article_id": article.id,
        "document_id": document.id,
        "entity_id": head.id,
        "relation_id": relation.id,
        "run_id": run.id,
        "trace_id": trace.id,
        "version_id": version.id,
        "item_id": item.id,
    }


def test_every_workspace_route_is_covered() -> None:
    names = {name for name, _ in _api_routes_with_workspace()}
    assert {
        "v1:workspace-detail",
        "v1:member-list",
        "v1:member-detail",
        "v1:invitation-list",
        "v1:invitation-detail",
        "v1:conversation-list",
        "v1:conversation-detail",
        "v1:message-list",
        "v1:message-original",
        "v1:knowledge-article-list",
        "v1:knowledge-article-detail",
        "v1:knowledge-article-publish",
        "v1:knowledge-document-list",
        "v1:knowledge-document-detail",
        "v1:knowledge-hit-test",
        "v1:knowledge-reindex",
        "v1:knowledge-entity-list",
        "v1:knowledge-entity-detail",
        "v1:knowledge-relation-list",
        "v1:knowledge-relation-detail",
        "v1:nlu-intents",
        "v1:nlu-examples",
        "v1:nlu-runs",
        "v1:nlu-run",
        "v1:nlu-trace-explain",
        "v1:mlops-versions",
        "v1:mlops-version",
        "v1:mlops-version-promote",
        "v1:mlops-version-canary",
        "v1:mlops-roll-back",
        "v1:mlops-decisions",
        "v1:review-queue",
        "v1:review-items",
        "v1:review-label",
        "v1:review-skip",
        "v1:review-adjudicate",
        "v1:review-adjudication",
        "v1:review-agreement",
        "v1:review-settings",
        "v1:review-handoff-outcome",
    } <= names


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_admin_of_a_gets_404_on_every_route_of_b(
    api: Any, member_of: Any, workspace_a: Any, b_objects: dict[str, Any], method: str
) -> None:
    api.force_authenticate(member_of(workspace_a, Role.ADMIN))
    for name, kwargs in _api_routes_with_workspace():
        url = reverse(name, kwargs={k: b_objects[k] for k in kwargs})
        response = getattr(api, method)(url, {"role": "admin", "name": "x"}, format="json")
        # 405 only where the route has no such method at all; never data, never "forbidden".
        assert response.status_code in (404, 405), (method, url, response.status_code)
        assert "B's secret" not in response.content.decode()


@pytest.mark.django_db
def test_b_ids_under_a_slug_are_not_found(
    api: Any, member_of: Any, workspace_a: Any, b_objects: dict[str, Any]
) -> None:
    api.force_authenticate(member_of(workspace_a, Role.ADMIN))
    for name, kwargs in _api_routes_with_workspace():
        if kwargs == ["workspace_slug"]:
            continue
        values = {**{k: b_objects[k] for k in kwargs}, "workspace_slug": workspace_a.slug}
        url = reverse(name, kwargs=values)
        response = api.get(url)
        if response.status_code == 405:  # a POST-only route (revealing an original)
            response = api.post(url)
        if response.status_code == 405:  # a PUT-only route (a handoff outcome)
            response = api.put(url, {}, format="json")
        assert response.status_code == 404, (name, response.status_code)


@pytest.mark.django_db
def test_lists_of_a_hold_nothing_of_b(
    api: Any, member_of: Any, workspace_a: Any, workspace_b: Any, b_objects: dict[str, Any]
) -> None:
    own = ConversationFactory(workspace=workspace_a)
    api.force_authenticate(member_of(workspace_a, Role.ADMIN))

    workspaces = api.get(reverse("v1:workspace-list")).json()
    assert [w["slug"] for w in workspaces] == ["acme"]

    conversations = api.get(reverse("v1:conversation-list", args=["acme"])).json()
    assert [c["id"] for c in conversations["results"]] == [own.id]


@pytest.mark.django_db
def test_outsider_sees_no_workspace(api: Any, outsider: Any, b_objects: dict[str, Any]) -> None:
    api.force_authenticate(outsider)
    assert api.get(reverse("v1:workspace-list")).json() == []
    response = api.get(reverse("v1:conversation-list", args=[b_objects["workspace_slug"]]))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_anonymous_is_refused(api: Any, b_objects: dict[str, Any]) -> None:
    response = api.get(reverse("v1:conversation-list", args=[b_objects["workspace_slug"]]))
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"
