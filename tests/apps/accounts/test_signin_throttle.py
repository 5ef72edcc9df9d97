"""Password guessing is throttled per user name and per address on every sign-in: the API token,
the admin site and the console's login page. Once locked, even the right password is refused
until the lockout ends."""

import time
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"
LOCKED_FORM_ERROR = "Too many failed sign-ins; try again in 15 minutes."


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.SIGNIN_FAILURES_PER_USERNAME = "5/900"
    settings.SIGNIN_FAILURES_PER_IP = "20/900"
    settings.SIGNIN_LOCKOUT_SECONDS = 900


@pytest.fixture
def staff() -> User:
    user: User = UserFactory(username="ann", is_staff=True)
    return user


def _token(api: APIClient, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return api.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=ip,
    )


def _console_login(client: Client, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _admin_login(client: Client, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(
        "/admin/login/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )


def test_token_endpoint_locks_a_user_name_after_five_failures(api: APIClient, staff: User) -> None:
    for _ in range(5):
        assert _token(api, "ann", "wrong").status_code == 400
    locked = _token(api, "ann", PASSWORD)
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    assert locked.json() == {
        "error": {
            "code": "throttled",
            "message": "Too many failed sign-ins; try again in 15 minutes.",
        }
    }
    # From another address too: the lock is on the user name.
    assert _token(api, "ann", PASSWORD, ip="10.0.0.2").status_code == 429


def test_sixty_wrong_passwords_then_the_right_one_is_refused(api: APIClient, staff: User) -> None:
    statuses = [_token(api, "ann", f"guess-{n}").status_code for n in range(60)]
    assert statuses == [400] * 5 + [429] * 55
    assert _token(api, "ann", PASSWORD).status_code == 429


def test_token_endpoint_locks_an_address_trying_many_user_names(
    api: APIClient, staff: User
) -> None:
    for n in range(20):
        assert _token(api, f"nobody-{n}", "wrong").status_code == 400
    assert _token(api, "ann", PASSWORD).status_code == 429
    # Another address is not affected.
    assert _token(api, "ann", PASSWORD, ip="10.0.0.2").status_code == 200


def test_a_success_forgets_earlier_failures_of_the_user_name(api: APIClient, staff: User) -> None:
    for _ in range(2):
        for _ in range(4):
            assert _token(api, "ann", "wrong").status_code == 400
        assert _token(api, "ann", PASSWORD).status_code == 200


def test_the_lockout_ends(api: APIClient, staff: User, settings: Any) -> None:
    settings.SIGNIN_LOCKOUT_SECONDS = 1
    for _ in range(5):
        _token(api, "ann", "wrong")
    assert _token(api, "ann", PASSWORD).status_code == 429
    time.sleep(1.1)
    response = _token(api, "ann", PASSWORD)
    assert response.status_code == 200
    assert set(response.json()) == {"token"}


def test_console_login_page_locks_a_user_name(staff: User) -> None:
    client = Client()
    for _ in range(5):
        page = _console_login(client, "ann", "wrong")
        assert page.status_code == 200
        assert LOCKED_FORM_ERROR not in page.content.decode()
    page = _console_login(client, "ann", PASSWORD)
    assert page.status_code == 429
    assert LOCKED_FORM_ERROR in page.content.decode()
    assert "_auth_user_id" not in client.session


def test_console_login_page_locks_an_address(staff: User) -> None:
    client = Client()
    for n in range(20):
        _console_login(client, f"nobody-{n}", "wrong")
    page = _console_login(client, "ann", PASSWORD)
    assert page.status_code == 429
    assert "_auth_user_id" not in client.session
    assert _console_login(client, "ann", PASSWORD, ip="10.0.0.2").status_code == 302


def test_admin_login_locks_a_user_name(staff: User) -> None:
    client = Client()
    for _ in range(5):
        assert _admin_login(client, "ann", "wrong").status_code == 200
    page = _admin_login(client, "ann", PASSWORD)
    assert page.status_code == 429
    assert LOCKED_FORM_ERROR in page.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_still_works_below_the_limit(staff: User) -> None:
    client = Client()
    for _ in range(4):
        _admin_login(client, "ann", "wrong")
    assert _admin_login(client, "ann", PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_failures_are_shared_across_the_three_sign_ins(api: APIClient, staff: User) -> None:
    client = Client()
    _token(api, "ann", "wrong")
    _token(api, "ann", "wrong")
    _admin_login(client, "ann", "wrong")
    _console_login(client, "ann", "wrong")
    _console_login(client, "ann", "wrong")
    assert _token(api, "ann", PASSWORD).status_code == 429
