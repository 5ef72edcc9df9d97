"""WebSocket routes of every app, in one list."""

from django.urls import URLPattern, URLResolver

from apps.chat.routing import websocket_urlpatterns as chat_routes

websocket_urlpatterns: list[URLPattern | URLResolver] = [*chat_routes]
