from typing import Any

import pytest
from django.urls import reverse


@pytest.fixture
def widget(api: Any, workspace_a: Any) -> Any:
    """An API client holding a widget session of workspace A; ``.url`` is its messages endpoint."""
    response = api.post(
        reverse("v1:widget-session", args=[workspace_a.public_key]),
        {},
        format="json",
        HTTP_ORIGIN="https://acme.example.com",
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    api.url = reverse("v1:widget-messages", args=[workspace_a.public_key])
    return api
