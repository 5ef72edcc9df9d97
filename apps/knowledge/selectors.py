"""Reads of the knowledge base, always within one workspace."""

from django.db.models import Q, QuerySet

from apps.accounts.models import Workspace
from apps.core.exceptions import NotFound
from apps.knowledge.models import (
    Article,
    ArticleVersion,
    Document,
    Entity,
    KnowledgeAudit,
    Relation,
)


def article_list(*, workspace: Workspace, search: str = "", status: str = "") -> QuerySet[Article]:
    articles = Article.objects.filter(workspace=workspace)
    if status:
        articles = articles.filter(status=status)
    if search:
        articles = articles.filter(Q(title__icontains=search) | Q(body__icontains=search))
    return articles.order_by("-updated_at", "-id")


def article_get(*, workspace: Workspace, article_id: int) -> Article:
    article = Article.objects.filter(workspace=workspace, pk=article_id).first()
    if article is None:
        raise NotFound("No such article in this workspace.")
    return article


def article_versions(*, article: Article) -> QuerySet[ArticleVersion]:
    return ArticleVersion.objects.filter(article=article).order_by("-version")


def article_audit(*, article: Article) -> QuerySet[KnowledgeAudit]:
    return KnowledgeAudit.objects.filter(
        workspace_id=article.workspace_id, object_type="article", object_id=article.pk
    ).select_related("actor")


def document_list(*, workspace: Workspace) -> QuerySet[Document]:
    return Document.objects.filter(workspace=workspace).defer("content").order_by("-id")


def document_get(*, workspace: Workspace, document_id: int) -> Document:
    document = document_list(workspace=workspace).filter(pk=document_id).first()
    if document is None:
        raise NotFound("No such document in this workspace.")
    return document


def entity_list(*, workspace: Workspace, search: str = "", origin: str = "") -> QuerySet[Entity]:
    entities = Entity.objects.filter(workspace=workspace)
    if origin:
        entities = entities.filter(origin=origin)
    if search:
        entities = entities.filter(name__icontains=search)
    return entities.order_by("name", "id")


def entity_get(*, workspace: Workspace, entity_id: int) -> Entity:
    entity = Entity.objects.filter(workspace=workspace, pk=entity_id).first()
    if entity is None:
        raise NotFound("No such entity in this workspace.")
    return entity


def relation_list(*, workspace: Workspace, entity_id: int | None = None) -> QuerySet[Relation]:
    relations = Relation.objects.filter(workspace=workspace, origin=Relation.Origin.CURATED)
    if entity_id is not None:
        relations = relations.filter(Q(head_id=entity_id) | Q(tail_id=entity_id))
    return relations.select_related("head", "tail").order_by("id")


def relation_get(*, workspace: Workspace, relation_id: int) -> Relation:
    relation = Relation.objects.filter(workspace=workspace, pk=relation_id).first()
    if relation is None:
        raise NotFound("No such relation in this workspace.")
    return relation
