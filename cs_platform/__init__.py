"""Django project: settings, ASGI/WSGI entry points, URL routing and the Celery app."""

from cs_platform.celery import app as celery_app

__all__ = ("celery_app",)
