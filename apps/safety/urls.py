from django.urls import path

from apps.safety import apis

urlpatterns = [
    path(
        "workspaces/<slug:workspace_slug>/messages/<int:message_id>/original/",
        apis.MessageOriginalApi.as_view(),
        name="message-original",
    ),
    path(
        "workspaces/<slug:workspace_slug>/knowledge/pii/",
        apis.KnowledgePiiApi.as_view(),
        name="knowledge-pii",
    ),
]
