from django.urls import path

from apps.review import apis

_BASE = "workspaces/<slug:workspace_slug>/review/"

urlpatterns = [
    path(f"{_BASE}queue/", apis.QueueApi.as_view(), name="review-queue"),
    path(f"{_BASE}items/", apis.ItemListApi.as_view(), name="review-items"),
    path(f"{_BASE}items/<int:item_id>/label/", apis.ItemLabelApi.as_view(), name="review-label"),
    path(f"{_BASE}items/<int:item_id>/skip/", apis.ItemSkipApi.as_view(), name="review-skip"),
    path(
        f"{_BASE}items/<int:item_id>/adjudicate/",
        apis.ItemAdjudicateApi.as_view(),
        name="review-adjudicate",
    ),
    path(f"{_BASE}adjudication/", apis.AdjudicationListApi.as_view(), name="review-adjudication"),
    path(f"{_BASE}agreement/", apis.AgreementApi.as_view(), name="review-agreement"),
    path(f"{_BASE}settings/", apis.SettingsApi.as_view(), name="review-settings"),
    path(
        f"{_BASE}handoff-outcomes/<int:conversation_id>/",
        apis.HandoffOutcomeApi.as_view(),
        name="review-handoff-outcome",
    ),
]
