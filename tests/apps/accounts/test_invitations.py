"""Members join a workspace only by accepting an invitation sent to their e-mail address: an admin
can't add another company's user, and learns nothing about who uses the platform."""

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import Invitation, Membership, Role, User, Workspace
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_a(workspace_a: Workspace, member_of: Any) -> User:
    user: User = member_of(workspace_a, Role.ADMIN)
    return user


@pytest.fixture
def admin_b(workspace_b: Workspace) -> User:
    membership: Membership = MembershipFactory(
        workspace=workspace_b,
        role=Role.ADMIN,
        user=UserFactory(username="globex-boss", email="boss@globex.example.com"),
    )
    return membership.user


def _invite(api: APIClient, workspace: Workspace, email: str, role: str = "agent") -> Any:
    return api.post(
        reverse("v1:invitation-list", args=[workspace.slug]),
        {"email": email, "role": role},
        format="json",
    )


def test_adding_another_companys_admin_by_user_name_is_gone(
    api: APIClient, workspace_a: Workspace, admin_a: User, admin_b: User
) -> None:
    api.force_authenticate(admin_a)
    response = api.post(
        reverse("v1:member-list", args=[workspace_a.slug]),
        {"username": "globex-boss", "role": "agent"},
        format="json",
    )
    assert response.status_code == 405
    assert "boss@globex.example.com" not in response.content.decode()
    assert not Membership.objects.filter(user=admin_b, workspace=workspace_a).exists()


def test_an_invitation_adds_nobody_and_answers_the_same_for_any_address(
    api: APIClient,
    workspace_a: Workspace,
    admin_a: User,
    admin_b: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    api.force_authenticate(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        known = _invite(api, workspace_a, "Boss@Globex.example.com")
        unknown = _invite(api, workspace_a, "nobody@nowhere.example.com")
    assert (known.status_code, unknown.status_code) == (201, 201)
    for response, email in (
        (known, "boss@globex.example.com"),
        (unknown, "nobody@nowhere.example.com"),
    ):
        body = response.json()
        assert sorted(body) == [
            "accept_url",
            "created_at",
            "email",
            "expires_at",
            "id",
            "role",
            "status",
        ]
        assert (body["email"], body["role"], body["status"]) == (email, "agent", "pending")
        assert "globex-boss" not in response.content.decode()
    assert not Membership.objects.filter(user=admin_b, workspace=workspace_a).exists()
    # Each address got its own link; the inviter sees the same link once, never stored in clear.
    assert [m.to for m in mail.outbox] == [
        ["boss@globex.example.com"],
        ["nobody@nowhere.example.com"],
    ]
    assert known.json()["accept_url"] in mail.outbox[0].body
    token = known.json()["accept_url"].rstrip("/").rsplit("/", 1)[1]
    assert not Invitation.objects.filter(token_hash=token).exists()


def test_the_invitee_accepts_while_signed_in(
    api: APIClient, workspace_a: Workspace, admin_a: User, admin_b: User
) -> None:
    api.force_authenticate(admin_a)
    token = _invite(api, workspace_a, "boss@globex.example.com", "analyst").json()["accept_url"]
    token = token.rstrip("/").rsplit("/", 1)[1]

    invitee = APIClient()
    preview = invitee.get(reverse("v1:invitation", args=[token]))
    assert preview.status_code == 200
    assert preview.json()["workspace"] == "Acme"
    assert preview.json()["role"] == "analyst"

    invitee.force_authenticate(admin_b)
    accepted = invitee.post(reverse("v1:invitation-accept", args=[token]))
    assert accepted.status_code == 200
    assert (accepted.json()["slug"], accepted.json()["role"]) == ("acme", "analyst")
    assert Membership.objects.get(user=admin_b, workspace=workspace_a).role == "analyst"
    # The link works once.
    assert invitee.post(reverse("v1:invitation-accept", args=[token])).status_code == 404
    assert Invitation.objects.filter(accepted_by=admin_b).count() == 1
    members = api.get(reverse("v1:member-list", args=[workspace_a.slug])).json()
    assert sorted(m["username"] for m in members) == sorted([admin_a.username, "globex-boss"])


def test_the_invitee_sets_up_an_account(
    api: APIClient, workspace_a: Workspace, admin_a: User
) -> None:
    api.force_authenticate(admin_a)
    url = _invite(api, workspace_a, "new.agent@example.com").json()["accept_url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    response = APIClient().post(
        reverse("v1:invitation-signup", args=[token]),
        {"username": "newagent", "password": "a long enough passphrase 42"},
        format="json",
    )
    assert response.status_code == 201
    user = User.objects.get(username="newagent")
    assert user.email == "new.agent@example.com"
    assert user.check_password("a long enough passphrase 42")
    assert Membership.objects.get(user=user, workspace=workspace_a).role == "agent"


def test_the_invitation_page_signs_up_and_signs_in(
    api: APIClient, workspace_a: Workspace, admin_a: User
) -> None:
    api.force_authenticate(admin_a)
    url = _invite(api, workspace_a, "page.user@example.com").json()["accept_url"]
    path = url.split("testserver", 1)[1]
    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200
    assert "Join Acme" in page.content.decode()
    done = browser.post(path, {"username": "pageuser", "password": "a long enough passphrase 42"})
    assert (done.status_code, done["Location"]) == (302, "/console/")
    user = User.objects.get(username="pageuser")
    assert browser.session["_auth_user_id"] == str(user.pk)
    assert browser.get(path).status_code == 404


def test_wrong_revoked_and_expired_links_are_not_found(
    api: APIClient, workspace_a: Workspace, admin_a: User, admin_b: User
) -> None:
    api.force_authenticate(admin_a)
    invitee = APIClient()
    invitee.force_authenticate(admin_b)
    assert invitee.post(reverse("v1:invitation-accept", args=["made-up"])).status_code == 404

    created = _invite(api, workspace_a, "boss@globex.example.com").json()
    token = created["accept_url"].rstrip("/").rsplit("/", 1)[1]
    revoked = api.delete(reverse("v1:invitation-detail", args=[workspace_a.slug, created["id"]]))
    assert revoked.status_code == 204
    refused = invitee.post(reverse("v1:invitation-accept", args=[token]))
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "invalid_invitation"

    created = _invite(api, workspace_a, "boss@globex.example.com").json()
    token = created["accept_url"].rstrip("/").rsplit("/", 1)[1]
    Invitation.objects.filter(id=created["id"]).update(expires_at="2000-01-01T00:00Z")
    assert invitee.post(reverse("v1:invitation-accept", args=[token])).status_code == 404
    assert not Membership.objects.filter(user=admin_b, workspace=workspace_a).exists()


def test_only_admins_invite_and_see_invitations(
    api: APIClient, workspace_a: Workspace, member_of: Any
) -> None:
    api.force_authenticate(member_of(workspace_a, Role.AGENT))
    assert _invite(api, workspace_a, "x@example.com").status_code == 403
    listed = api.get(reverse("v1:invitation-list", args=[workspace_a.slug]))
    assert listed.status_code == 403


def test_a_second_pending_invitation_of_one_address_is_a_conflict(
    api: APIClient, workspace_a: Workspace, admin_a: User
) -> None:
    api.force_authenticate(admin_a)
    assert _invite(api, workspace_a, "x@example.com").status_code == 201
    again = _invite(api, workspace_a, "X@example.com")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_invited"
    listed = api.get(reverse("v1:invitation-list", args=[workspace_a.slug])).json()
    assert [(i["email"], i["status"]) for i in listed] == [("x@example.com", "pending")]


def test_member_list_shows_an_empty_email_as_empty(
    api: APIClient, workspace_a: Workspace, admin_a: User
) -> None:
    MembershipFactory(workspace=workspace_a, user=UserFactory(username="noaddress", email=""))
    api.force_authenticate(admin_a)
    members = api.get(reverse("v1:member-list", args=[workspace_a.slug])).json()
    assert [m["email"] for m in members if m["username"] == "noaddress"] == [""]
