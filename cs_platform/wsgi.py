"""WSGI entry point (HTTP only; WebSockets need ``asgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings.local")

application = get_wsgi_application()
