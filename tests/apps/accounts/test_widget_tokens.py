"""Widget session tokens: bound to one workspace, refused elsewhere and after expiry."""

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.widget import customer_session_authenticate, customer_session_start
from apps.core.exceptions import Forbidden, Unauthorized


def _start(api: Any, workspace: Any, origin: str | None, **body: Any) -> Any:
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return api.post(
        reverse("v1:widget-session", args=[workspace.public_key]), body, format="json", **headers
    )


@pytest.mark.django_db
def test_token_for_a_is_refused_for_b(workspace_a: Any, workspace_b: Any) -> None:
    issued = customer_session_start(workspace=workspace_a, origin="https://acme.example.com")
    assert (
        customer_session_authenticate(token=issued.token, workspace=workspace_a) == issued.session
    )
    with pytest.raises(Unauthorized, match="another workspace"):
        customer_session_authenticate(token=issued.token, workspace=workspace_b)


@pytest.mark.django_db
def test_token_expires(workspace_a: Any, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.WIDGET_TOKEN_TTL_SECONDS = 60
    issued = customer_session_start(workspace=workspace_a, origin="https://acme.example.com")
    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(Unauthorized) as refused:
        customer_session_authenticate(token=issued.token, workspace=workspace_a)
    assert refused.value.code == "token_expired"


@pytest.mark.django_db
def test_tampered_token_is_refused(workspace_a: Any) -> None:
    issued = customer_session_start(workspace=workspace_a, origin="https://acme.example.com")
    payload, _, signature = issued.token.partition(":")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + ":" + signature
    with pytest.raises(Unauthorized) as refused:
        customer_session_authenticate(token=forged, workspace=workspace_a)
    assert refused.value.code == "invalid_token"


@pytest.mark.django_db
def test_origin_must_be_allowed(workspace_a: Any) -> None:
    with pytest.raises(Forbidden) as refused:
        customer_session_start(workspace=workspace_a, origin="https://evil.example.net")
    assert refused.value.code == "origin_not_allowed"
    with pytest.raises(Forbidden) as missing:
        customer_session_start(workspace=workspace_a, origin=None)
    assert missing.value.code == "origin_missing"


@pytest.mark.django_db
def test_session_api_over_http(api: Any, workspace_a: Any, workspace_b: Any) -> None:
    started = _start(api, workspace_a, "https://acme.example.com")
    assert started.status_code == 201
    assert started["Access-Control-Allow-Origin"] == "https://acme.example.com"
    token = started.json()["token"]

    own = api.get(
        reverse("v1:widget-messages", args=[workspace_a.public_key]),
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert own.status_code == 200
    assert own.json() == {"conversation": None, "messages": []}

    foreign = api.get(
        reverse("v1:widget-messages", args=[workspace_b.public_key]),
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert foreign.status_code == 401
    assert foreign.json()["error"] == {
        "code": "invalid_token",
        "message": "This session token belongs to another workspace.",
    }


@pytest.mark.django_db
def test_resume_keeps_the_session(api: Any, workspace_a: Any, workspace_b: Any) -> None:
    first = _start(api, workspace_a, "https://acme.example.com").json()
    resumed = _start(api, workspace_a, "https://acme.example.com", resume_token=first["token"])
    assert resumed.json()["session_id"] == first["session_id"]
    # A token from another workspace can't be used to resume: a new session starts instead.
    other = _start(api, workspace_b, "https://globex.example.com", resume_token=first["token"])
    assert other.status_code == 201
    assert other.json()["session_id"] != first["session_id"]


@pytest.mark.django_db
def test_preflight_only_for_allowed_origins(api: Any, workspace_a: Any) -> None:
    url = reverse("v1:widget-session", args=[workspace_a.public_key])
    allowed = api.options(url, HTTP_ORIGIN="https://acme.example.com")
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == "https://acme.example.com"
    assert "Authorization" in allowed["Access-Control-Allow-Headers"]
    refused = api.options(url, HTTP_ORIGIN="https://evil.example.net")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused


@pytest.mark.django_db
def test_session_requests_are_rate_limited_per_ip(
    api: Any, workspace_a: Any, settings: Any
) -> None:
    settings.WIDGET_RATE_TOKENS_PER_IP = "3/60"
    codes = [_start(api, workspace_a, "https://acme.example.com").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    refused = _start(api, workspace_a, "https://acme.example.com")
    assert refused.json()["error"]["code"] == "throttled"
