"""The dashboards page: for the workspace's analysts and admins, behind the staff navigation."""

from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import Role, Workspace
from tests.apps.analytics.conftest import Built

pytestmark = pytest.mark.django_db


def test_the_page(scenario: Built, analyst_of: Any) -> None:
    page = Client()
    page.force_login(analyst_of(scenario.workspace))
    response = page.get("/analytics/acme/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="analytics-config"' in html
    assert 'href="/analytics/"' in html  # the staff navigation
    assert page.get("/analytics/").status_code == 302
    outsider = Client()
    outsider.force_login(analyst_of(Workspace.objects.get(slug="globex")))
    assert outsider.get("/analytics/acme/").status_code == 404
    agent = Client()
    agent.force_login(analyst_of(scenario.workspace, Role.AGENT))
    assert agent.get("/analytics/acme/").status_code == 403
