from django.urls import path

from apps.analytics import views

urlpatterns = [
    path("analytics/", views.analytics_index, name="analytics-index"),
    path("analytics/<slug:workspace_slug>/", views.analytics_page, name="analytics-page"),
]
