"""Analytics is for the workspace's analysts and admins: another company's analyst finds nothing
(404) on every endpoint, other roles are refused (403), and no export carries another
workspace's rows."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.analytics.urls import urlpatterns
from tests.apps.analytics.conftest import Built

pytestmark = pytest.mark.django_db

PERIOD = {"start": "2025-03-01", "end": "2025-03-10", "metric": "handoff"}


def endpoints(scenario: Built) -> list[str]:
    conversation = scenario.conversations["c3"].id
    base = "/api/v1/workspaces/acme/analytics/"
    return [
        f"{base}summary/",
        f"{base}series/",
        f"{base}intents/",
        f"{base}models/",
        f"{base}conversations/",
        f"{base}conversations/{conversation}/",
        f"{base}export/conversations.csv",
        f"{base}export/turns.csv",
        f"{base}export/series.csv",
        f"{base}settings/",
    ]


def test_every_analytics_route_is_listed_here(scenario: Built) -> None:
    """A new endpoint must join the checks below."""
    assert len(urlpatterns) == len(endpoints(scenario))


@pytest.mark.parametrize("role", [Role.ANALYST, Role.ADMIN])
def test_analysts_and_admins_read_every_endpoint(
    scenario: Built, analyst_of: Any, role: str
) -> None:
    api = APIClient()
    api.force_authenticate(analyst_of(scenario.workspace, role))
    for url in endpoints(scenario):
        response = api.get(url, PERIOD)
        assert response.status_code == 200, (url, response.content)


def test_another_workspaces_analyst_gets_404_everywhere(scenario: Built, analyst_of: Any) -> None:
    from apps.accounts.models import Workspace

    api = APIClient()
    api.force_authenticate(analyst_of(Workspace.objects.get(slug="globex")))
    for url in endpoints(scenario):
        response = api.get(url, PERIOD)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    # Their own workspace's conversation list doesn't reach Acme's conversation either.
    acme_conversation = scenario.conversations["c3"].id
    response = api.get(f"/api/v1/workspaces/globex/analytics/conversations/{acme_conversation}/")
    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.AGENT])
def test_other_roles_are_refused(scenario: Built, analyst_of: Any, role: str) -> None:
    api = APIClient()
    api.force_authenticate(analyst_of(scenario.workspace, role))
    for url in endpoints(scenario):
        assert api.get(url, PERIOD).status_code == 403, url


def test_anonymous_is_refused(scenario: Built) -> None:
    for url in endpoints(scenario):
        assert APIClient().get(url, PERIOD).status_code in (401, 403), url


def test_exports_hold_only_the_workspaces_rows(scenario: Built, analyst_of: Any) -> None:
    from apps.accounts.models import Workspace
    from apps.analytics.models import ConversationFact

    globex = Workspace.objects.get(slug="globex")
    api = APIClient()
    api.force_authenticate(analyst_of(globex))
    body = b"".join(
        api.get(
            "/api/v1/workspaces/globex/analytics/export/conversations.csv", PERIOD
        ).streaming_content
    ).decode()
    ids = {int(line.split(",")[0]) for line in body.splitlines()[1:]}
    assert ids == set(
        ConversationFact.objects.filter(workspace=globex).values_list("conversation_id", flat=True)
    )
    assert len(ids) == 3
    turns = b"".join(
        api.get("/api/v1/workspaces/globex/analytics/export/turns.csv", PERIOD).streaming_content
    ).decode()
    assert len(turns.splitlines()) == 4
    assert all("GLOBEX-SECRET" in line for line in turns.splitlines()[1:])
