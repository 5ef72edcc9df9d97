from django.urls import path

from apps.chat import views

urlpatterns = [
    path("console/", views.console_index, name="console-index"),
    path("console/<slug:workspace_slug>/", views.console, name="console"),
]
