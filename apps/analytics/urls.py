from django.urls import path

from apps.analytics import apis

_A = "workspaces/<slug:workspace_slug>/analytics/"

urlpatterns = [
    path(f"{_A}summary/", apis.SummaryApi.as_view(), name="analytics-summary"),
    path(f"{_A}series/", apis.SeriesApi.as_view(), name="analytics-series"),
    path(f"{_A}intents/", apis.IntentsApi.as_view(), name="analytics-intents"),
    path(f"{_A}models/", apis.ModelsApi.as_view(), name="analytics-models"),
    path(
        f"{_A}conversations/",
        apis.ConversationListApi.as_view(),
        name="analytics-conversation-list",
    ),
    path(
        f"{_A}conversations/<int:conversation_id>/",
        apis.ConversationDetailApi.as_view(),
        name="analytics-conversation-detail",
    ),
    path(
        f"{_A}export/conversations.csv",
        apis.ConversationExportApi.as_view(),
        name="analytics-export-conversations",
    ),
    path(f"{_A}export/turns.csv", apis.TurnExportApi.as_view(), name="analytics-export-turns"),
    path(f"{_A}export/series.csv", apis.SeriesExportApi.as_view(), name="analytics-export-series"),
    path(f"{_A}settings/", apis.SettingsApi.as_view(), name="analytics-settings"),
]
