"""GET /metrics: every metric of this deployment in Prometheus' text format, for a bearer token
(``MetricsMiddleware``, first in MIDDLEWARE).

What the processes counted (``apps.core.metrics``, django-prometheus' requests and queries; all
worker processes' files in multiprocess mode), and what is read from the database and the broker
when Prometheus scrapes: the agents' queue, unanswered customer messages, the model versions
serving, the Celery queues' lengths. It lives here, above the apps, because it reads them all.
"""

import hmac
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.exceptions import ChannelError
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from apps.chat.models import BotTurn, Conversation
from apps.core.metrics_process import multiprocess_enabled
from apps.mlops.models import ModelVersion
from cs_platform.celery import app as celery_app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_S = 2.0


class DatabaseGauges(Collector):
    """Counted in the database at scrape time: the same number whichever worker is asked.
    With the database unreachable they are left out, and the processes' metrics still go out."""

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._gauges()
        except DatabaseError:
            logger.warning("database not reachable for the metrics' gauges", exc_info=True)

    def _gauges(self) -> Iterator[Metric]:
        waiting = Conversation.objects.filter(status=Conversation.Status.WAITING_FOR_AGENT)
        yield GaugeMetricFamily(
            "cs_conversations_waiting_for_agent",
            "Conversations handed off and waiting for an agent to claim them.",
            value=waiting.count(),
        )
        since = timezone.now() - timedelta(seconds=settings.METRICS_UNANSWERED_AFTER_SECONDS)
        unanswered = BotTurn.objects.filter(
            state__in=[BotTurn.State.PENDING, BotTurn.State.RUNNING], created_at__lt=since
        )
        yield GaugeMetricFamily(
            "cs_customer_messages_unanswered",
            "Stored customer messages whose bot turn is still pending or running "
            "METRICS_UNANSWERED_AFTER_SECONDS after they were stored.",
            value=unanswered.count(),
        )
        serving = GaugeMetricFamily(
            "cs_model_versions_serving",
            "Model registry versions serving customers, by kind (nlu, generation) and state "
            "(champion, canary).",
            labels=["kind", "state"],
        )
        rows = (
            ModelVersion.objects.filter(
                state__in=[ModelVersion.State.CHAMPION, ModelVersion.State.CANARY]
            )
            .values("kind", "state")
            .annotate(count=Count("id"))
            .order_by("kind", "state")
        )
        for row in rows:
            serving.add_metric([row["kind"], row["state"]], row["count"])
        yield serving


class CeleryQueueLengths(Collector):
    """Messages waiting in each Celery queue of the broker (Redis or RabbitMQ), at scrape time;
    nothing without a broker (the embedded default runs tasks inline)."""

    def collect(self) -> Iterator[Metric]:
        if not settings.CELERY_BROKER_URL or settings.CELERY_TASK_ALWAYS_EAGER:
            return
        up = GaugeMetricFamily(
            "cs_celery_broker_up", "Whether the Celery broker answered this scrape (1) or not (0)."
        )
        lengths = GaugeMetricFamily(
            "cs_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        queues = sorted(celery_app.amqp.queues) or [celery_app.conf.task_default_queue]
        try:
            with celery_app.connection_for_read() as connection:
                connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
                for queue in queues:
                    lengths.add_metric([queue], _queue_length(connection, queue))
        except Exception:
            logger.warning("celery broker not reachable for the queue lengths", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield lengths


def _queue_length(connection: Any, queue: str) -> int:
    """Passive: counts a queue's messages without creating it. A queue that was never declared
    (no worker has consumed from it, no task was sent to it) holds none."""
    channel = connection.channel()
    try:
        return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except ChannelError:
        return 0
    finally:
        channel.close()


def scrape_registry() -> CollectorRegistry:
    """What one scrape reports: the processes' counts, then the scrape-time gauges."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(REGISTRY)  # a registry collects like any collector
    registry.register(DatabaseGauges())
    registry.register(CeleryQueueLengths())
    return registry


def bearer_matches(authorization: str, token: str) -> bool:
    """Compared in constant time: a token isn't guessed a character at a time."""
    return hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode())


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:  # metrics are off
        return HttpResponseNotFound("Not found.\n", content_type="text/plain")
    if not bearer_matches(request.headers.get("Authorization", ""), token):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Answers ``/metrics`` ahead of the rest of the middleware. Prometheus scrapes each web
    process at its own address over the cluster's plain HTTP, which the production settings
    would refuse (that address is not in DJANGO_ALLOWED_HOSTS) or redirect to HTTPS, and it
    can't send another Host header. The bearer token is what guards it; nothing in the answer
    depends on the host."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/metrics":
            return metrics(request)
        return self.get_response(request)
