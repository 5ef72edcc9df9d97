"""Reads for the generator: what a workspace's adapter learns from."""

import hashlib

from apps.accounts.models import Workspace
from apps.chat.models import Message
from apps.feedback.models import MessageFeedback
from apps.knowledge.models import Article
from apps.nlu.models import TrainingExample
from ml.generation.data.bitext import redact_text

QUESTIONS_PER_ARTICLE = 20  # the title and up to 19 examples of the article's intents
MAX_HELPFUL_REPLIES = 2000  # the newest ones


def training_record_list(*, workspace: Workspace) -> list[dict[str, str]]:
    """What the workspace's generator adapter learns from, as question/answer records (every
    text redacted): its knowledge base and its conversations."""
    return article_record_list(workspace=workspace) + helpful_reply_record_list(workspace=workspace)


def article_record_list(*, workspace: Workspace) -> list[dict[str, str]]:
    """Each published FAQ article, once per way it is asked: its title and the training
    examples of the intents it answers (``Article.intents``), with its body as the answer."""
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


def helpful_reply_record_list(*, workspace: Workspace) -> list[dict[str, str]]:
    """Bot and agent replies the customer marked helpful, each with the customer message it
    answered (the last one before it). Replies with the same text form one group."""
    rated = (
        MessageFeedback.objects.filter(
            workspace=workspace,
            rating=MessageFeedback.Rating.UP,
            message__conversation__workspace=workspace,
            message__sender__in=[Message.Sender.BOT, Message.Sender.AGENT],
        )
        .select_related("message")
        .order_by("-id")[:MAX_HELPFUL_REPLIES]
    )
    records = []
    for feedback in rated:
        reply = feedback.message
        question = (
            Message.objects.filter(
                conversation_id=reply.conversation_id,
                sender=Message.Sender.CUSTOMER,
                id__lt=reply.id,
            )
            .order_by("-id")
            .values_list("text", flat=True)
            .first()
        )
        if not question or not reply.text.strip():
            continue
        answer = redact_text(reply.text.strip())
        group = hashlib.sha256(answer.encode()).hexdigest()[:12]
        records.append(
            {
                "question": redact_text(" ".join(question.split())),
                "answer": answer,
                "group": f"reply-{group}",
            }
        )
    return records[::-1]  # oldest first, like the articles
