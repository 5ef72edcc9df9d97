"""A task sent through a real broker (Redis) is run by a real Celery worker."""

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from apps.chat.models import Conversation
from apps.chat.tasks import conversations_purge_expired
from cs_platform.celery import app as celery_app
from tests.factories import ConversationFactory, WorkspaceFactory
from tests.services import BROKER_URL, require


@pytest.fixture
def worker() -> Iterator[None]:
    require("Celery broker", BROKER_URL, 6379 if BROKER_URL.startswith("redis") else 5672)
    saved = {k: celery_app.conf[k] for k in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=BROKER_URL, task_always_eager=False)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.update(saved)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_runs_purge_sent_through_the_broker(worker: Any) -> None:
    workspace = WorkspaceFactory(retention_days=1)
    expired = ConversationFactory(
        workspace=workspace,
        status=Conversation.Status.CLOSED,
        closed_at=timezone.now() - timedelta(days=2),
    )
    with celery_app.connection_for_write(BROKER_URL) as connection:
        conversations_purge_expired.apply_async(connection=connection)

    deadline = time.monotonic() + 20
    while Conversation.objects.filter(id=expired.id).exists():
        assert time.monotonic() < deadline, "the worker did not run the task within 20 s"
        time.sleep(0.2)
