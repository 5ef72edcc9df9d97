from collections.abc import Callable

import pytest
from django.core.cache import cache, caches
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Role, User, Workspace
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

# The tiny generator base and adapters, shared by the ml and apps tests (built on first use).
pytest_plugins = ["tests.generation_fixtures"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Rate-limit counters live in the cache, cached answers in the responses cache: every test
    starts with none (a rolled-back test's workspace id comes back in the next one)."""
    cache.clear()
    caches["responses"].clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def member_of(db: None) -> Callable[..., User]:
    """``member_of(workspace, role)``: a new user holding that role in the workspace."""

    def make(workspace: Workspace, role: str = Role.AGENT) -> User:
        membership: Membership = MembershipFactory(workspace=workspace, role=role)
        return membership.user

    return make


@pytest.fixture
def workspace_a(db: None) -> Workspace:
    return WorkspaceFactory(slug="acme", name="Acme", allowed_origins=["https://acme.example.com"])


@pytest.fixture
def workspace_b(db: None) -> Workspace:
    return WorkspaceFactory(
        slug="globex", name="Globex", allowed_origins=["https://globex.example.com"]
    )


@pytest.fixture
def outsider(db: None) -> User:
    return UserFactory()
