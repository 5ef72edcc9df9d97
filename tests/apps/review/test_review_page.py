from collections.abc import Callable

import pytest
from django.test import Client

from apps.accounts.models import Role, User, Workspace

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_operator_gets_the_page_with_intents_and_the_nav_link(
    workspace_a: Workspace, intents: list[str], member_of: Callable[..., User]
) -> None:
    operator = member_of(workspace_a, Role.OPERATOR)
    client = _client(operator)

    assert client.get("/review/").url == "/review/acme/"  # type: ignore[attr-defined]
    page = client.get("/review/acme/")

    assert page.status_code == 200
    config = page.context["review_config"]
    assert config == {
        "api": "/api/v1/workspaces/acme/review/",
        "intents": ["card_lost", "loan_rates", "refund_status"],
        "is_admin": False,
        "language": "en",
    }
    html = page.content.decode()
    assert 'href="/review/" aria-current="page">Review</a>' in html
    assert "review/review.js" in html


def test_other_workspace_and_other_roles_get_no_page(
    workspace_a: Workspace, workspace_b: Workspace, member_of: Callable[..., User]
) -> None:
    assert _client(member_of(workspace_b, Role.ADMIN)).get("/review/acme/").status_code == 404
    agent = _client(member_of(workspace_a, Role.AGENT))
    assert agent.get("/review/acme/").status_code == 403
    assert "/review/" not in agent.get("/review/").content.decode().split("<main>")[0]
