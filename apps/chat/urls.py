from django.urls import path

from apps.chat import apis

urlpatterns = [
    path(
        "workspaces/<slug:workspace_slug>/conversations/",
        apis.ConversationListApi.as_view(),
        name="conversation-list",
    ),
    path(
        "workspaces/<slug:workspace_slug>/conversations/<int:conversation_id>/",
        apis.ConversationDetailApi.as_view(),
        name="conversation-detail",
    ),
    path(
        "workspaces/<slug:workspace_slug>/conversations/<int:conversation_id>/messages/",
        apis.MessageListApi.as_view(),
        name="message-list",
    ),
    path(
        "widget/<str:public_key>/session/", apis.WidgetSessionApi.as_view(), name="widget-session"
    ),
    path(
        "widget/<str:public_key>/messages/",
        apis.WidgetMessagesApi.as_view(),
        name="widget-messages",
    ),
]
