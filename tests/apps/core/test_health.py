from typing import Any

import pytest

from apps.core import health


def test_healthz(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_every_dependency(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "channel_layer", "qdrant"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_is_503_when_a_dependency_fails(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise ConnectionRefusedError("qdrant down")

    monkeypatch.setitem(health.PROBES, "qdrant", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["qdrant"] == {
        "ok": False,
        "latency_ms": response.json()["checks"]["qdrant"]["latency_ms"],
        "error": "ConnectionRefusedError",
    }
    assert response.json()["checks"]["database"]["ok"] is True
