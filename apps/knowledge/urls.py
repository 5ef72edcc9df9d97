from django.urls import path

from apps.knowledge import apis

_K = "workspaces/<slug:workspace_slug>/knowledge/"

urlpatterns = [
    path(f"{_K}articles/", apis.ArticleListApi.as_view(), name="knowledge-article-list"),
    path(
        f"{_K}articles/<int:article_id>/",
        apis.ArticleDetailApi.as_view(),
        name="knowledge-article-detail",
    ),
    path(
        f"{_K}articles/<int:article_id>/publish/",
        apis.ArticlePublishApi.as_view(),
        name="knowledge-article-publish",
    ),
    path(f"{_K}documents/", apis.DocumentListApi.as_view(), name="knowledge-document-list"),
    path(
        f"{_K}documents/<int:document_id>/",
        apis.DocumentDetailApi.as_view(),
        name="knowledge-document-detail",
    ),
    path(f"{_K}hit-test/", apis.HitTestApi.as_view(), name="knowledge-hit-test"),
    path(f"{_K}reindex/", apis.ReindexApi.as_view(), name="knowledge-reindex"),
    path(f"{_K}variables/", apis.AnswerVariableListApi.as_view(), name="knowledge-variable-list"),
    path(
        f"{_K}variables/unfilled/",
        apis.UnfilledVariableListApi.as_view(),
        name="knowledge-variable-unfilled",
    ),
    path(
        f"{_K}variables/<int:variable_id>/",
        apis.AnswerVariableDetailApi.as_view(),
        name="knowledge-variable-detail",
    ),
    path(f"{_K}entities/", apis.EntityListApi.as_view(), name="knowledge-entity-list"),
    path(
        f"{_K}entities/<int:entity_id>/",
        apis.EntityDetailApi.as_view(),
        name="knowledge-entity-detail",
    ),
    path(f"{_K}relations/", apis.RelationListApi.as_view(), name="knowledge-relation-list"),
    path(
        f"{_K}relations/<int:relation_id>/",
        apis.RelationDetailApi.as_view(),
        name="knowledge-relation-detail",
    ),
]
