from django.urls import path

from apps.review import views

urlpatterns = [
    path("review/", views.review_index, name="review-index"),
    path("review/<slug:workspace_slug>/", views.review_page, name="review-page"),
]
