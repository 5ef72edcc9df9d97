from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from apps.chat import consumers

websocket_urlpatterns = [
    # The widget runs on the company's own site: its origin is checked against the workspace's
    # allowed origins inside the consumer, and no cookie is involved.
    path("ws/widget/<str:public_key>/", consumers.CustomerConsumer.as_asgi()),
    # Agents sign in with the session cookie, so the origin must be this site's own.
    path(
        "ws/agent/<slug:workspace_slug>/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(consumers.AgentConsumer.as_asgi())),
    ),
]
