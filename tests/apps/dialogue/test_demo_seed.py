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


@pytest.mark.django_db
def test_the_demo_allows_the_port_it_serves_on_and_a_rerun_updates_every_demo_workspace(
    settings: Any, tmp_path: Any
) -> None:
    from apps.accounts.widget import customer_session_start
    from tests.factories import WorkspaceFactory

    settings.VAR_DIR = tmp_path
    call_command("demo_seed", "--password", "s3cret-demo-pw", "--port", "8010")
    shop = Workspace.objects.get(slug="demo")
    assert sorted(shop.allowed_origins) == ["http://127.0.0.1:8010", "http://localhost:8010"]
    assert customer_session_start(workspace=shop, origin="http://localhost:8010").token

    bank = WorkspaceFactory(slug="demo-bank", allowed_origins=["http://127.0.0.1:8000"])
    call_command("demo_seed", "--host", "0.0.0.0", "--port", "8020")  # noqa: S104
    shop.refresh_from_db()
    bank.refresh_from_db()
    assert sorted(shop.allowed_origins) == [
        "http://127.0.0.1:8010",
        "http://127.0.0.1:8020",
        "http://localhost:8010",
        "http://localhost:8020",
    ]
    assert sorted(bank.allowed_origins) == [
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8020",
        "http://localhost:8020",
    ]


@pytest.mark.django_db
def test_the_demo_shop_answer_variables_are_filled(settings: Any, tmp_path: Any) -> None:
    from apps.knowledge.models import AnswerVariable

    settings.VAR_DIR = tmp_path
    call_command("demo_seed", "--password", "s3cret-demo-pw")
    shop = Workspace.objects.get(slug="demo")
    values = dict(AnswerVariable.objects.filter(workspace=shop).values_list("key", "value"))
    assert values["customersupportphonenumber"] == "1-800-DEMO-SHOP"
    assert values["livechat"] == "live chat"
    assert values["customersupportavailability"] == "Monday to Saturday, 8 am to 8 pm"
    # An operator's own value survives a re-run.
    AnswerVariable.objects.filter(workspace=shop, key="livechat").update(value="our chat")
    call_command("demo_seed")
    assert AnswerVariable.objects.get(workspace=shop, key="livechat").value == "our chat"


def test_make_demo_passes_the_port_it_serves_on() -> None:
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    recipe = subprocess.run(
        ["make", "-n", "demo", "PORT=8010", "HOST=127.0.0.1"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "manage.py demo_seed --host 127.0.0.1 --port 8010\n" in recipe
    assert "manage.py demo_bots --host 127.0.0.1 --port 8010\n" in recipe
    assert "daphne -b 127.0.0.1 -p 8010 " in recipe
