from typing import Any

import pytest
from django.core.management import call_command

from apps.accounts.models import Membership, User, Workspace


@pytest.mark.django_db
def test_demo_seed_is_idempotent(settings: Any, tmp_path: Any, client: Any) -> None:
    settings.VAR_DIR = tmp_path
    call_command("demo_seed", "--password", "s3cret-demo-pw")
    call_command("demo_seed", "--password", "other-password", "--origin", "http://127.0.0.1:9999")

    workspace = Workspace.objects.get(slug="demo")
    admin = User.objects.get(username="admin")
    assert Membership.objects.get(workspace=workspace, user=admin).role == "admin"
    assert admin.check_password("s3cret-demo-pw")
    assert "http://127.0.0.1:8000" in workspace.allowed_origins
    assert "http://127.0.0.1:9999" in workspace.allowed_origins
    agent = User.objects.get(username="agent")
    assert Membership.objects.get(workspace=workspace, user=agent).role == "agent"
    assert agent.check_password("s3cret-demo-pw")
    assert (tmp_path / "demo-credentials.txt").read_text().endswith("password: s3cret-demo-pw\n")

    page = client.get("/demo/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'src="/static/widget/widget.js" data-workspace="{workspace.public_key}"' in html
    assert client.get("/demo/unknown/").status_code == 404
