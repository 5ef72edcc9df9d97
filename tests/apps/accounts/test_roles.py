from typing import Any

import pytest
from django.urls import reverse

from apps.accounts.models import Membership, Role
from tests.factories import ConversationFactory, MembershipFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.ADMIN, 200), (Role.AGENT, 200), (Role.ANALYST, 200), (Role.OPERATOR, 403)],
)
def test_conversation_read_by_role(
    api: Any, member_of: Any, workspace_a: Any, role: str, expected: int
) -> None:
    ConversationFactory(workspace=workspace_a)
    api.force_authenticate(member_of(workspace_a, role))
    response = api.get(reverse("v1:conversation-list", args=[workspace_a.slug]))
    assert response.status_code == expected
    if expected == 403:
        assert response.json()["error"] == {
            "code": "forbidden",
            "message": "Your role (operator) does not allow conversations.read.",
        }


@pytest.mark.django_db
def test_only_admin_changes_workspace(api: Any, member_of: Any, workspace_a: Any) -> None:
    url = reverse("v1:workspace-detail", args=[workspace_a.slug])
    api.force_authenticate(member_of(workspace_a, Role.AGENT))
    assert api.patch(url, {"name": "Hacked"}, format="json").status_code == 403

    api.force_authenticate(member_of(workspace_a, Role.ADMIN))
    response = api.patch(
        url,
        {
            "name": "Acme Ltd",
            "allowed_origins": ["HTTPS://Shop.Acme.com/", "http://localhost:3000"],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Acme Ltd"
    assert response.json()["allowed_origins"] == [
        "http://localhost:3000",
        "https://shop.acme.com",
    ]


@pytest.mark.django_db
def test_bad_origin_is_a_400(api: Any, member_of: Any, workspace_a: Any) -> None:
    api.force_authenticate(member_of(workspace_a, Role.ADMIN))
    response = api.patch(
        reverse("v1:workspace-detail", args=[workspace_a.slug]),
        {"allowed_origins": ["https://shop.acme.com/path"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "allowed_origins: 'https://shop.acme.com/path' must be scheme://host[:port] with no path."
    )


@pytest.mark.django_db
def test_admin_manages_members_but_keeps_one_admin(
    api: Any, member_of: Any, workspace_a: Any, outsider: Any
) -> None:
    admin = member_of(workspace_a, Role.ADMIN)
    api.force_authenticate(admin)
    members_url = reverse("v1:member-list", args=[workspace_a.slug])

    # Members join by invitation only (tests/apps/accounts/test_invitations.py).
    added = MembershipFactory(user=outsider, workspace=workspace_a, role=Role.ANALYST)
    assert [m["username"] for m in api.get(members_url).json()] == [
        admin.username,
        outsider.username,
    ]

    own = Membership.objects.get(user=admin, workspace=workspace_a)
    demote = api.patch(
        reverse("v1:member-detail", args=[workspace_a.slug, own.id]),
        {"role": "agent"},
        format="json",
    )
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "last_admin"

    removed = api.delete(reverse("v1:member-detail", args=[workspace_a.slug, added.id]))
    assert removed.status_code == 204
    assert not Membership.objects.filter(user=outsider).exists()


@pytest.mark.django_db
def test_creator_becomes_admin(api: Any, outsider: Any) -> None:
    api.force_authenticate(outsider)
    response = api.post(
        reverse("v1:workspace-list"), {"name": "Initech", "slug": "initech"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["role"] == "admin"
    assert response.json()["public_key"].startswith("wk_")
    taken = api.post(reverse("v1:workspace-list"), {"name": "X", "slug": "initech"}, format="json")
    assert taken.status_code == 409
