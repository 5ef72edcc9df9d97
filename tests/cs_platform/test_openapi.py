import re
from typing import Any

import pytest
from django.core.management import call_command


def test_schema_generates_without_warnings(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    text = out.read_text()
    assert "/api/v1/workspaces/{workspace_slug}/conversations/" in text
    assert "/api/v1/widget/{public_key}/messages/" in text


@pytest.mark.django_db
def test_swagger_ui_is_served_offline(client: Any) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    # Nothing fetched from a CDN (the page's random CSP nonce may spell "cdn", so look at URLs).
    assert not re.search(r"(?:https?:)?//[^\s\"']*cdn", html, re.IGNORECASE)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
