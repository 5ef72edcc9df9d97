"""Reads of the knowledge base, always within one workspace."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from apps.accounts.models import Workspace
from apps.core.exceptions import NotFound
from apps.knowledge.models import (
    AnswerVariable,
    Article,
    ArticleVersion,
    Document,
    Entity,
    KnowledgeAudit,
    KnowledgeChunk,
    KnowledgeState,
    Relation,
)
from apps.knowledge.services.variables import variable_key, variable_names
from apps.safety.services import contacts_find


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


def answer_variable_list(*, workspace: Workspace) -> QuerySet[AnswerVariable]:
    return AnswerVariable.objects.filter(workspace=workspace).order_by("name", "id")


def answer_variable_get(*, workspace: Workspace, variable_id: int) -> AnswerVariable:
    variable = AnswerVariable.objects.filter(workspace=workspace, pk=variable_id).first()
    if variable is None:
        raise NotFound("No such variable in this workspace.")
    return variable


@dataclass(frozen=True)
class UnfilledVariable:
    name: str
    key: str
    uses: int  # articles and documents that use it
    articles: list[dict[str, Any]]
    documents: list[dict[str, Any]]


def answer_variables_unfilled(*, workspace: Workspace) -> list[UnfilledVariable]:
    """The variables that published articles and indexed documents use and that have no value,
    most used first, with what uses them (customers read these as their names)."""
    filled: dict[str, str] = {}
    named: dict[str, str] = {}
    for key, name, value in AnswerVariable.objects.filter(workspace=workspace).values_list(
        "key", "name", "value"
    ):
        named[key] = name
        if value:
            filled[key] = value
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    users: dict[str, dict[str, dict[int, dict[str, Any]]]] = defaultdict(
        lambda: {"articles": {}, "documents": {}}
    )

    def collect(text: str, kind: str, row: dict[str, Any]) -> None:
        for name in variable_names(text):
            key = variable_key(name)
            if key and key not in filled:
                spellings[key][name] += 1
                users[key][kind][row["id"]] = row

    published = Article.objects.filter(workspace=workspace, status=Article.Status.PUBLISHED)
    for pk, title, body in published.order_by("id").values_list("id", "title", "body"):
        collect(f"{title}\n{body}", "articles", {"id": pk, "title": title})
    chunks = KnowledgeChunk.objects.filter(workspace=workspace, document__isnull=False)
    for document_id, filename, text in chunks.order_by("document_id", "position").values_list(
        "document_id", "document__filename", "text"
    ):
        collect(text, "documents", {"id": document_id, "filename": filename})
    rows = [
        UnfilledVariable(
            name=named.get(key) or spellings[key].most_common(1)[0][0],
            key=key,
            uses=len(users[key]["articles"]) + len(users[key]["documents"]),
            articles=list(users[key]["articles"].values()),
            documents=list(users[key]["documents"].values()),
        )
        for key in spellings
    ]
    return sorted(rows, key=lambda row: (-row.uses, row.name.casefold()))


# Per process and workspace: the published contact values and what they were read from (the
# knowledge version and the variables' values), so a turn reads the chunks again only after a
# change.
_published_contacts: dict[int, tuple[tuple[object, ...], tuple[str, ...]]] = {}


def published_contacts_get(*, workspace: Workspace) -> tuple[str, ...]:
    """The contact details a workspace publishes itself, which its bot may show any customer:
    the values of its answer variables (the support phone, the support e-mail ...) and the phone
    numbers and e-mail addresses left in its indexed knowledge text (knowledge redaction replaced
    private ones with placeholders, so those left are the company's own)."""
    variables = tuple(
        AnswerVariable.objects.filter(workspace=workspace)
        .exclude(value="")
        .order_by("key")
        .values_list("value", flat=True)
    )
    version = (
        KnowledgeState.objects.filter(workspace=workspace).values_list("version", flat=True).first()
    )
    stamp = (version, variables)
    cached = _published_contacts.get(workspace.pk)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    chunks = KnowledgeChunk.objects.filter(workspace=workspace).values_list("text", flat=True)
    values = variables + tuple(sorted(contacts_find(texts=chunks.iterator())))
    _published_contacts[workspace.pk] = (stamp, values)
    return values
