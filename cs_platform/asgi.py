"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings.local")

# Django must be set up before anything imports models (the websocket routes do).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.safety.services import models_warm_up  # noqa: E402
from cs_platform.routing import websocket_urlpatterns  # noqa: E402

# Load the safety models before serving: the first customer doesn't wait for spaCy, and no two
# threads race to import it (a concurrent first import of spaCy fails).
models_warm_up()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
