"""Articles: create, edit (a new version each time), publish, unpublish, delete. The index
follows in a task queued when the transaction commits."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User, Workspace
from apps.core.exceptions import ApplicationError
from apps.knowledge import hooks
from apps.knowledge.models import Article, ArticleVersion
from apps.knowledge.services.audit import audit_record
from apps.nlu.models import Intent

_EDITABLE = ("title", "body", "kind", "source_url", "intents")
MAX_INTENTS = 20


def _intents_checked(workspace: Workspace, names: Sequence[str]) -> list[str]:
    """The names, each an intent of the workspace (a clear error names the unknown ones)."""
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if len(wanted) > MAX_INTENTS:
        raise ApplicationError(f"An article answers at most {MAX_INTENTS} intents.")
    known = set(
        Intent.objects.filter(workspace=workspace, name__in=wanted).values_list("name", flat=True)
    )
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ApplicationError(f"Unknown intents: {', '.join(unknown)}.", code="unknown_intent")
    return wanted


def _queue_index(article_id: int) -> None:
    transaction.on_commit(lambda: hooks.article_index_queue(article_id))


def _version_save(article: Article, author: User | None) -> None:
    ArticleVersion.objects.create(
        article=article,
        version=article.version,
        title=article.title,
        body=article.body,
        status=article.status,
        author=author,
    )


@transaction.atomic
def article_create(
    *,
    workspace: Workspace,
    author: User,
    title: str,
    body: str,
    kind: str = Article.Kind.FAQ,
    source_url: str = "",
    intents: Sequence[str] = (),
    publish: bool = False,
) -> Article:
    article = Article.objects.create(
        workspace=workspace,
        title=title.strip(),
        body=body,
        kind=kind,
        source_url=source_url,
        intents=_intents_checked(workspace, intents),
        created_by=author,
        updated_by=author,
    )
    _version_save(article, author)
    audit_record(
        workspace=workspace,
        actor=author,
        action="article.create",
        object_type="article",
        object_id=article.pk,
        summary=article.title,
    )
    if publish:
        article = article_publish(article=article, actor=author)
    return article


@transaction.atomic
def article_update(*, article: Article, actor: User, data: dict[str, Any]) -> Article:
    if "intents" in data:
        data = {**data, "intents": _intents_checked(article.workspace, data["intents"])}
    changed = [f for f in _EDITABLE if f in data and data[f] != getattr(article, f)]
    if not changed:
        return article
    for field in changed:
        setattr(article, field, data[field].strip() if field == "title" else data[field])
    article.version += 1
    article.updated_by = actor
    article.save()
    _version_save(article, actor)
    audit_record(
        workspace=article.workspace,
        actor=actor,
        action="article.update",
        object_type="article",
        object_id=article.pk,
        summary=f"v{article.version}: {', '.join(changed)}",
    )
    if article.status == Article.Status.PUBLISHED:
        _queue_index(article.pk)
    return article


@transaction.atomic
def article_publish(*, article: Article, actor: User) -> Article:
    if article.status == Article.Status.PUBLISHED:
        raise ApplicationError("The article is already published.", code="already_published")
    article.status = Article.Status.PUBLISHED
    article.published_at = timezone.now()
    article.updated_by = actor
    article.save(update_fields=["status", "published_at", "updated_by", "updated_at"])
    audit_record(
        workspace=article.workspace,
        actor=actor,
        action="article.publish",
        object_type="article",
        object_id=article.pk,
        summary=f"v{article.version}",
    )
    _queue_index(article.pk)
    return article


@transaction.atomic
def article_unpublish(*, article: Article, actor: User) -> Article:
    if article.status == Article.Status.DRAFT:
        raise ApplicationError("The article is not published.", code="not_published")
    article.status = Article.Status.DRAFT
    article.updated_by = actor
    article.save(update_fields=["status", "updated_by", "updated_at"])
    audit_record(
        workspace=article.workspace,
        actor=actor,
        action="article.unpublish",
        object_type="article",
        object_id=article.pk,
    )
    _queue_index(article.pk)
    return article


@transaction.atomic
def article_delete(*, article: Article, actor: User) -> None:
    workspace_id, doc_key, article_id = article.workspace_id, article.doc_key, article.pk
    audit_record(
        workspace=article.workspace,
        actor=actor,
        action="article.delete",
        object_type="article",
        object_id=article_id,
        summary=article.title,
    )
    article.delete()
    transaction.on_commit(lambda: hooks.source_remove_queue(workspace_id, doc_key))
