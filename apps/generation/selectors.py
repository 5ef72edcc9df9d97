"""Reads for the generator: what a workspace's adapter learns from."""

from apps.accounts.models import Workspace
from apps.knowledge.models import Article
from apps.nlu.models import TrainingExample
from ml.generation.data.bitext import redact_text

QUESTIONS_PER_ARTICLE = 20  # the title and up to 19 examples of the article's intents


def training_record_list(*, workspace: Workspace) -> list[dict[str, str]]:
    """The workspace's published FAQ articles as training records, one per way an article is
    asked: its title and the training examples of the intents it answers (``Article.intents``),
    each with the article's body as the answer. Every text is redacted."""
    articles = list(
        Article.objects.filter(
            workspace=workspace, kind=Article.Kind.FAQ, status=Article.Status.PUBLISHED
        ).order_by("id")
    )
    intent_names = {name for article in articles for name in article.intents}
    examples: dict[str, list[str]] = {}
    for intent_name, text in (
        TrainingExample.objects.filter(workspace=workspace, intent__name__in=intent_names)
        .order_by("id")
        .values_list("intent__name", "text")
    ):
        examples.setdefault(intent_name, []).append(text)
    records: list[dict[str, str]] = []
    for article in articles:
        asked = [article.title, *(t for name in article.intents for t in examples.get(name, []))]
        answer = redact_text(article.body.strip())
        unique = list(dict.fromkeys(redact_text(" ".join(q.split())) for q in asked if q.strip()))
        records.extend(
            {"question": q, "answer": answer, "group": f"article-{article.pk}"}
            for q in unique[:QUESTIONS_PER_ARTICLE]
        )
    return records
