"""GET /metrics: never public (a bearer token, or 404 when none is configured), and with the
token every metric of the deployment, the database's gauges counted at scrape time."""

from typing import Any

import pytest
from django.test import Client

from apps.chat.models import Conversation
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def token(settings: Any) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_with_no_token_configured_metrics_are_not_served_to_anyone(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_without_the_token_metrics_are_refused(token: str) -> None:
    missing = Client().get("/metrics")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}x")
    basic = Client().get("/metrics", HTTP_AUTHORIZATION=f"Basic {token}")
    assert [missing.status_code, wrong.status_code, basic.status_code] == [401, 401, 401]
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"cs_" not in missing.content + wrong.content + basic.content


def test_with_the_token_the_product_request_and_database_metrics_are_served(
    token: str, workspace_a: Any
) -> None:
    ConversationFactory.create_batch(
        2, workspace=workspace_a, status=Conversation.Status.WAITING_FOR_AGENT
    )
    ConversationFactory(workspace=workspace_a, status=Conversation.Status.BOT)

    assert Client().get("/healthz").status_code == 200  # a request for django-prometheus
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    lines = response.content.decode().splitlines()
    assert "cs_conversations_waiting_for_agent 2.0" in lines
    assert "cs_customer_messages_unanswered 0.0" in lines
    assert "# TYPE cs_turns_total counter" in lines
    assert "# TYPE cs_response_cache_lookups_total counter" in lines
    assert any(line.startswith("django_http_requests_total_by_method_total") for line in lines)
    assert any(line.startswith("django_db_execute_total{") for line in lines)


@pytest.mark.services
def test_with_a_broker_the_celery_queue_lengths_are_read_at_scrape_time(
    token: str, settings: Any
) -> None:
    import redis

    from cs_platform.celery import app as celery_app
    from tests.services import BROKER_URL, require

    require("Celery broker", BROKER_URL, 6379)
    if not BROKER_URL.startswith("redis"):
        pytest.skip("the queue's length is checked against Redis here")
    settings.CELERY_BROKER_URL = BROKER_URL
    settings.CELERY_TASK_ALWAYS_EAGER = False
    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = BROKER_URL
    try:
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    finally:
        celery_app.conf.broker_url = saved
    waiting = redis.Redis.from_url(BROKER_URL).llen("celery")

    lines = response.content.decode().splitlines()
    assert "cs_celery_broker_up 1.0" in lines
    assert f'cs_celery_queue_length{{queue="celery"}} {float(waiting)}' in lines
