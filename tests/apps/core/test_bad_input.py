"""Bad input gets a clear 4xx with a message, never a 500."""

from typing import Any

import pytest
from django.urls import reverse

from apps.accounts.models import Role


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def token(api: Any, workspace_a: Any) -> str:
    response = api.post(
        reverse("v1:widget-session", args=[workspace_a.public_key]),
        {},
        format="json",
        HTTP_ORIGIN="https://acme.example.com",
    )
    return str(response.json()["token"])


@pytest.mark.django_db
def test_malformed_json(api: Any, workspace_a: Any, token: str) -> None:
    response = api.generic(
        "POST",
        reverse("v1:widget-messages", args=[workspace_a.public_key]),
        '{"text": "hi", ',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


@pytest.mark.django_db
def test_wrong_json_shape(api: Any, workspace_a: Any, token: str) -> None:
    response = api.post(
        reverse("v1:widget-messages", args=[workspace_a.public_key]),
        ["not", "an", "object"],
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid"


@pytest.mark.django_db
def test_unknown_workspace_key(api: Any) -> None:
    response = api.post(
        reverse("v1:widget-session", args=["wk_nope"]), {}, format="json", HTTP_ORIGIN="https://a.b"
    )
    assert response.status_code == 404
    assert _error(response) == {"code": "unknown_workspace", "message": "Unknown workspace key."}


@pytest.mark.django_db
def test_oversized_message_text(api: Any, workspace_a: Any, token: str, settings: Any) -> None:
    settings.MESSAGE_MAX_CHARS = 100
    response = api.post(
        reverse("v1:widget-messages", args=[workspace_a.public_key]),
        {"text": "x" * 101, "client_message_id": "c1"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert _error(response)["message"] == "text: A message can be at most 100 characters."


@pytest.mark.django_db
def test_oversized_fields(api: Any, member_of: Any, workspace_a: Any, token: str) -> None:
    api.force_authenticate(member_of(workspace_a, Role.ADMIN))
    response = api.patch(
        reverse("v1:workspace-detail", args=[workspace_a.slug]),
        {"name": "n" * 500, "allowed_origins": ["https://a.example.com"] * 51},
        format="json",
    )
    assert response.status_code == 400
    fields = _error(response)["fields"]
    assert set(fields) == {"name", "allowed_origins"}

    long_id = api.post(
        reverse("v1:widget-messages", args=[workspace_a.public_key]),
        {"text": "hi", "client_message_id": "c" * 65},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert long_id.status_code == 400
    assert "client_message_id" in _error(long_id)["fields"]


@pytest.mark.django_db
def test_oversized_body_is_413(api: Any, workspace_a: Any, token: str, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(
        reverse("v1:widget-messages", args=[workspace_a.public_key]),
        {"text": "x" * 2000, "client_message_id": "c1"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


@pytest.mark.django_db
def test_bad_query_parameters(api: Any, member_of: Any, workspace_a: Any) -> None:
    api.force_authenticate(member_of(workspace_a, Role.ADMIN))
    url = reverse("v1:conversation-list", args=[workspace_a.slug])
    assert api.get(url, {"status": "flying"}).status_code == 400
    assert api.get(url, {"limit": "lots"}).status_code == 200  # DRF falls back to the default


@pytest.mark.django_db
def test_missing_and_garbage_token(api: Any, workspace_a: Any) -> None:
    url = reverse("v1:widget-messages", args=[workspace_a.public_key])
    assert _error(api.get(url))["code"] == "token_missing"
    garbage = api.get(url, HTTP_AUTHORIZATION="Bearer \x00garbage")
    assert garbage.status_code == 401
    assert _error(garbage)["code"] == "invalid_token"


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(client: Any, settings: Any) -> None:
    settings.DEBUG = False
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such resource."}}
