from typing import Any

import pytest

from apps.accounts.models import Role


@pytest.mark.django_db
def test_console_needs_sign_in(client: Any, workspace_a: Any) -> None:
    response = client.get(f"/console/{workspace_a.slug}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_agent_gets_the_console_with_its_socket(
    client: Any, member_of: Any, workspace_a: Any
) -> None:
    client.force_login(member_of(workspace_a, Role.AGENT))
    index = client.get("/console/")
    assert (index.status_code, index["Location"]) == (302, f"/console/{workspace_a.slug}/")
    page = client.get(f"/console/{workspace_a.slug}/")
    assert page.status_code == 200
    assert '"ws_path": "/ws/agent/acme/"' in page.content.decode()


@pytest.mark.django_db
def test_console_refuses_other_roles_and_workspaces(
    client: Any, member_of: Any, workspace_a: Any, workspace_b: Any
) -> None:
    client.force_login(member_of(workspace_a, Role.ANALYST))
    assert client.get(f"/console/{workspace_a.slug}/").status_code == 403
    assert client.get(f"/console/{workspace_b.slug}/").status_code == 404
