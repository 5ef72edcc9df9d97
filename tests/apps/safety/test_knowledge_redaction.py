"""Operators' knowledge reaches customers intact: only private data is redacted, and counted."""

from typing import Any

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.knowledge.models import Article
from apps.knowledge.services.articles import article_update
from apps.knowledge.services.indexing import article_index, chunks_redact
from ml.retrieval.contracts import Chunk

BANK = (
    "Card payments and transfers in other currencies use the Visa or Mastercard wholesale rate "
    "of the moment."
)
SHOP = (
    "You can pay with PayPal. Log in to our {{Website Name}} or call "
    "{{Customer Support Phone Number}}; we are delivering to Portugal and Germany."
)
PRIVATE = (
    "Refunds for jane.roe@gmail.com went to card 4111 1111 1111 1111; ask support@acme.example."
)


@pytest.mark.django_db
def test_brands_places_and_template_variables_are_kept(workspace_a: Any) -> None:
    chunks = [Chunk("c1", "article:1", BANK), Chunk("c2", "article:1", SHOP)]
    redacted, counts = chunks_redact(workspace=workspace_a, chunks=chunks)
    assert [c.text for c in redacted] == [BANK, SHOP]
    assert counts == {}


@pytest.mark.django_db
def test_private_data_is_redacted_and_counted(workspace_a: Any) -> None:
    redacted, counts = chunks_redact(
        workspace=workspace_a, chunks=[Chunk("c1", "article:1", PRIVATE)]
    )
    assert redacted[0].text == (
        "Refunds for <EMAIL_1> went to card <CARD_1>; ask support@acme.example."
    )
    assert counts == {"EMAIL": 1, "PAYMENT_CARD": 1}


@pytest.mark.django_db
def test_an_articles_counts_are_reported(
    workspace_a: Any, workspace_b: Any, api: Any, member_of: Any
) -> None:
    article = Article.objects.create(
        workspace=workspace_a, title="Refunds", body=PRIVATE, status=Article.Status.PUBLISHED
    )
    from apps.safety.models import KnowledgePiiReport

    article_index(article_id=article.id)
    report = KnowledgePiiReport.objects.get(workspace=workspace_a, doc_key=article.doc_key)
    assert report.counts == {"EMAIL": 1, "PAYMENT_CARD": 1}
    assert [
        (row["doc_key"], row["counts"])
        for row in _knowledge_pii(api, member_of(workspace_a, Role.OPERATOR), workspace_a)
    ] == [(article.doc_key, {"EMAIL": 1, "PAYMENT_CARD": 1})]
    assert _knowledge_pii(api, member_of(workspace_b, Role.ADMIN), workspace_b) == []

    article_update(article=article, actor=member_of(workspace_a, Role.ADMIN), data={"body": BANK})
    article_index(article_id=article.id)
    assert _knowledge_pii(api, member_of(workspace_a, Role.OPERATOR), workspace_a) == []


def _knowledge_pii(api: Any, user: Any, workspace: Any) -> Any:
    api.force_authenticate(user)
    response = api.get(reverse("v1:knowledge-pii", args=[workspace.slug]))
    assert response.status_code == 200
    return response.json()
