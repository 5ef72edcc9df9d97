from django.urls import path

from apps.knowledge import views

urlpatterns = [
    path("knowledge/<slug:workspace_slug>/", views.knowledge_admin, name="knowledge-admin"),
]
