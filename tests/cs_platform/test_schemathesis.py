"""The API against its own OpenAPI schema (schemathesis): generated requests, authenticated as a
workspace admin of a seeded workspace, give no server error and no response that contradicts the
schema. Bounded: a few cases per operation, well under a minute."""

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from apps.accounts.models import Invitation, Role
from apps.knowledge.models import Article, Entity, Relation
from apps.nlu.models import Intent, TrainingExample
from tests.factories import ConversationFactory, MembershipFactory, MessageFactory

CASES_PER_OPERATION = 10
# Operations that start heavy work inline in tests (training, explanations, embedding whole
# documents, a bot turn): their schemas are still checked by test_openapi.py.
SKIPPED = {
    ("POST", "/api/v1/workspaces/{workspace_slug}/nlu/runs/"),
    ("POST", "/api/v1/workspaces/{workspace_slug}/nlu/traces/{trace_id}/explain/"),
    ("POST", "/api/v1/workspaces/{workspace_slug}/knowledge/reindex/"),
    ("POST", "/api/v1/workspaces/{workspace_slug}/knowledge/documents/"),
    ("POST", "/api/v1/widget/{public_key}/messages/"),
}


@pytest.fixture
def seeded(workspace_a: Any) -> dict[str, Any]:
    """A workspace with one of everything, and its admin's API token."""
    admin = MembershipFactory(workspace=workspace_a, role=Role.ADMIN).user
    conversation = ConversationFactory(workspace=workspace_a)
    message = MessageFactory(conversation=conversation, text="Where is my parcel?")
    article = Article.objects.create(workspace=workspace_a, title="Parcels", body="Two days.")
    head = Entity.objects.create(workspace=workspace_a, key="c:parcel", name="Parcel")
    tail = Entity.objects.create(workspace=workspace_a, key="c:courier", name="Courier")
    relation = Relation.objects.create(workspace=workspace_a, head=head, tail=tail)
    intent = Intent.objects.create(workspace=workspace_a, name="track", description="Tracking")
    TrainingExample.objects.create(workspace=workspace_a, intent=intent, text="where is it")
    TrainingExample.objects.create(workspace=workspace_a, intent=None, text="no intent yet")
    invitation = Invitation.objects.create(
        workspace=workspace_a,
        email="new@example.com",
        role=Role.AGENT,
        token_hash="a" * 64,
        expires_at="2999-01-01T00:00Z",
    )
    return {
        "token": Token.objects.create(user=admin).key,
        "path": {
            "workspace_slug": workspace_a.slug,
            "public_key": workspace_a.public_key,
            "conversation_id": conversation.id,
            "message_id": message.id,
            "article_id": article.id,
            "entity_id": head.id,
            "relation_id": relation.id,
            "member_id": admin.memberships.get().id,
            "invitation_id": invitation.id,
        },
    }


@pytest.mark.django_db(transaction=True)
def test_api_matches_its_schema(seeded: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    headers = {"Authorization": f"Token {seeded['token']}"}
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        checked += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            # Real ids of the seeded workspace, so that operations reach their 200 answers.
            for name in case.path_parameters or {}:
                if name in seeded["path"]:
                    case.path_parameters[name] = seeded["path"][name]
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            run()
        except FailureGroup as exc:  # every failing operation is reported, not only the first
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    assert checked >= 40
    assert failures == [], "\n\n".join(failures)
