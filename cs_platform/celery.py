"""The Celery app. Configuration comes from Django settings (``CELERY_*``).

With no CELERY_BROKER_URL the embedded default runs tasks eagerly, in the calling process.
"""

import os

from celery import Celery
from celery.signals import celeryd_init

from cs_platform import worker_metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings.local")
worker_metrics.multiprocess_for_worker()

app = Celery("cs_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task counts and run times, and a worker's metrics port (WORKER_METRICS_PORT).
worker_metrics.connect()


def _vector_store_left_to_web(**_: object) -> None:
    """A worker (``celery worker``) never opens the embedded vector store (QDRANT_URL unset): the
    web process owns it and runs the vector tasks (apps.core.vectors.VectorTask)."""
    from apps.core.vectors import vector_store_elsewhere

    vector_store_elsewhere("A Celery worker")


celeryd_init.connect(_vector_store_left_to_web)
