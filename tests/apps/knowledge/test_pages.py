from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import Role


@pytest.mark.django_db
def test_operator_gets_the_knowledge_page(member_of: Any, workspace_a: Any) -> None:
    client = Client()
    client.force_login(member_of(workspace_a, Role.OPERATOR))
    index = client.get("/knowledge/")
    assert index.status_code == 302
    assert index["Location"] == "/knowledge/acme/"
    page = client.get("/knowledge/acme/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '"api": "/api/v1/workspaces/acme/knowledge/"' in html
    assert 'id="hit-form"' in html
    assert 'id="entity-graph"' in html


@pytest.mark.django_db
def test_agent_is_refused_the_knowledge_page(member_of: Any, workspace_a: Any) -> None:
    client = Client()
    client.force_login(member_of(workspace_a, Role.AGENT))
    assert client.get("/knowledge/acme/").status_code == 403
    assert client.get("/knowledge/").status_code == 200
