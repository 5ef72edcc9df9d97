from django.urls import path

from apps.knowledge import views

urlpatterns = [
    path("knowledge/", views.knowledge_index, name="knowledge-index"),
    path("knowledge/<slug:workspace_slug>/", views.knowledge_admin, name="knowledge-admin"),
]
