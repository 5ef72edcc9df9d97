"""The registry's API: admins read and decide, operators read; every other workspace's user is
told the workspace (and its versions) do not exist."""

from typing import Any

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.mlops import services
from apps.mlops.models import Decision, ModelVersion

PERSON = Decision.Decider.PERSON


@pytest.fixture
def registry(workspace_a: Any, make_run: Any) -> dict[str, ModelVersion]:
    champion = services.version_register_nlu(run=make_run(workspace_a, score=0.7), trigger="person")
    services.version_promote(version=champion, decider=PERSON, reason="first")
    candidate = services.version_register_nlu(run=make_run(workspace_a, score=0.9), trigger="api")
    return {"champion": champion, "candidate": candidate}


def _endpoints(workspace: Any, version_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    slug = workspace.slug
    return [
        ("get", reverse("v1:mlops-versions", args=[slug]), {}),
        ("get", reverse("v1:mlops-version", args=[slug, version_id]), {}),
        ("post", reverse("v1:mlops-version-promote", args=[slug, version_id]), {}),
        ("post", reverse("v1:mlops-version-canary", args=[slug, version_id]), {"share": 0.5}),
        ("post", reverse("v1:mlops-roll-back", args=[slug]), {"kind": "nlu"}),
        ("get", reverse("v1:mlops-decisions", args=[slug]), {}),
    ]


@pytest.mark.django_db
def test_an_admin_lists_promotes_rolls_back_and_reads_the_log(
    api: Any, member_of: Any, workspace_a: Any, registry: dict[str, ModelVersion]
) -> None:
    admin = member_of(workspace_a, Role.ADMIN)
    api.force_authenticate(admin)
    slug = workspace_a.slug
    listed = api.get(reverse("v1:mlops-versions", args=[slug]), {"kind": "nlu"}).json()
    assert listed["count"] == 2
    assert [(v["number"], v["state"]) for v in listed["results"]] == [
        (2, "candidate"),
        (1, "champion"),
    ]
    assert listed["results"][0]["evaluation"] == {"score": 0.9, "intent_accuracy": 0.9}
    assert listed["results"][0]["parent_number"] == 1
    assert listed["results"][0]["trigger"] == "api"
    assert (
        api.get(reverse("v1:mlops-versions", args=[slug]), {"kind": "adapter"}).json()["count"] == 0
    )
    candidate = registry["candidate"]
    detail = api.get(reverse("v1:mlops-version", args=[slug, candidate.pk])).json()
    assert detail["manifest"] == candidate.manifest
    assert detail["data_snapshot"]["examples"] == 4

    promoted = api.post(
        reverse("v1:mlops-version-promote", args=[slug, candidate.pk]),
        {"reason": "better on the frozen set"},
        format="json",
    )
    assert promoted.status_code == 200, promoted.content
    assert {
        k: promoted.json()[k] for k in ("action", "version", "replaced", "decider", "user")
    } == {
        "action": "promote",
        "version": 2,
        "replaced": 1,
        "decider": "person",
        "user": admin.username,
    }
    back = api.post(reverse("v1:mlops-roll-back", args=[slug]), {"kind": "nlu"}, format="json")
    assert back.status_code == 200, back.content
    assert (back.json()["action"], back.json()["version"]) == ("roll_back", 1)
    again = api.post(
        reverse("v1:mlops-version-promote", args=[slug, candidate.pk]), {}, format="json"
    )
    assert again.status_code == 409  # retired: it comes back by a rollback, not a promotion
    log = api.get(reverse("v1:mlops-decisions", args=[slug])).json()
    assert [(d["action"], d["version"], d["reason"]) for d in log["results"]] == [
        ("roll_back", 1, ""),
        ("promote", 2, "better on the frozen set"),
        ("promote", 1, "first"),
    ]


@pytest.mark.django_db
def test_an_operator_reads_but_does_not_decide(
    api: Any, member_of: Any, workspace_a: Any, registry: dict[str, ModelVersion]
) -> None:
    api.force_authenticate(member_of(workspace_a, Role.OPERATOR))
    for method, url, body in _endpoints(workspace_a, registry["candidate"].pk):
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == (200 if method == "get" else 403), (url, response.content)
    assert ModelVersion.objects.get(pk=registry["candidate"].pk).state == "candidate"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.AGENT, Role.ANALYST])
def test_agents_and_analysts_are_refused(
    api: Any, member_of: Any, workspace_a: Any, registry: dict[str, ModelVersion], role: str
) -> None:
    api.force_authenticate(member_of(workspace_a, role))
    for method, url, body in _endpoints(workspace_a, registry["candidate"].pk):
        assert getattr(api, method)(url, body, format="json").status_code == 403, url


@pytest.mark.django_db
def test_every_endpoint_answers_404_to_another_workspace(
    api: Any,
    member_of: Any,
    workspace_a: Any,
    workspace_b: Any,
    outsider: Any,
    registry: dict[str, ModelVersion],
) -> None:
    candidate = registry["candidate"]
    for user in (member_of(workspace_b, Role.ADMIN), outsider):
        api.force_authenticate(user)
        for method, url, body in _endpoints(workspace_a, candidate.pk):
            response = getattr(api, method)(url, body, format="json")
            assert response.status_code == 404, (url, response.status_code)
    # A's version under B's slug, by B's admin: not found either.
    api.force_authenticate(member_of(workspace_b, Role.ADMIN))
    for method, url, body in _endpoints(workspace_b, candidate.pk)[1:4]:
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == 404, (url, response.status_code)
    assert ModelVersion.objects.get(pk=candidate.pk).state == "candidate"
    assert Decision.objects.filter(workspace=workspace_b).count() == 0


@pytest.mark.django_db
def test_the_api_needs_a_signed_in_user(
    api: Any, workspace_a: Any, registry: dict[str, ModelVersion]
) -> None:
    for method, url, body in _endpoints(workspace_a, registry["candidate"].pk):
        assert getattr(api, method)(url, body, format="json").status_code in (401, 403), url
