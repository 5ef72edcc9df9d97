"""The Celery app. Configuration comes from Django settings (``CELERY_*``).

With no CELERY_BROKER_URL the embedded default runs tasks eagerly, in the calling process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings.local")

app = Celery("cs_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
